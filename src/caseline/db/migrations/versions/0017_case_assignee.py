"""Cases have an assignee: who works the case now, first whoever opened it

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("assigned_to", sa.String(length=64), nullable=True))
        batch.create_index("ix_cases_assigned_to", ["assigned_to"])
    # A case opened before assignment existed is its opener's, as reading for it was.
    op.execute("UPDATE cases SET assigned_to = opened_by")


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_assigned_to")
        batch.drop_column("assigned_to")
