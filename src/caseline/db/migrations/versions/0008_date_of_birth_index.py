"""An index on the records' dates of birth, for finding a person's possible matches

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 17:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_source_records_date_of_birth", "source_records", ["date_of_birth"])


def downgrade() -> None:
    op.drop_index("ix_source_records_date_of_birth", table_name="source_records")
