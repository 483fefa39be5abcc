"""The words of every name a person's records give, for a search that forgives typos

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 21:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Filled by the next resolution run (`caseline resolve`); until then search finds no one.
    op.create_table(
        "person_name_words",
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("word", "person_id"),
    )
    op.create_index("ix_person_name_words_person_id", "person_name_words", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_person_name_words_person_id", table_name="person_name_words")
    op.drop_table("person_name_words")
