"""Retention flags: the persons who lost records to a retention purge, and their open cases

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retention_flags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_by", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("person_id", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("records_lost", sa.Integer(), nullable=False),
        sa.Column("records_left", sa.Integer(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
    )
    op.create_index("ix_retention_flags_run_id", "retention_flags", ["run_id"])
    op.create_index("ix_retention_flags_person_id", "retention_flags", ["person_id"])
    op.create_index("ix_retention_flags_case_id", "retention_flags", ["case_id"])


def downgrade() -> None:
    op.drop_table("retention_flags")
