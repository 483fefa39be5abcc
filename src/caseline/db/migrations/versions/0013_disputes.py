"""Disputes about a person's records, their review and what upholding one did

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.String(length=16), nullable=False),
        sa.Column(
            "record_id",
            sa.String(length=32),
            sa.ForeignKey("source_records.record_id"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("document", sa.String(length=256), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("claimed_value", sa.String(length=256), nullable=True),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=True),
        sa.Column("review_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("effect", sa.JSON(), nullable=False),
    )
    op.create_index("ix_disputes_person_id", "disputes", ["person_id"])
    op.create_index("ix_disputes_record_id", "disputes", ["record_id"])
    op.create_index("ix_disputes_state", "disputes", ["state"])


def downgrade() -> None:
    op.drop_table("disputes")
