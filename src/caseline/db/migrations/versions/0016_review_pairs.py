"""The review queue: uncertain pairs each resolution run stores, and their outcomes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Filled by the next resolution run (`caseline resolve`); until then the queue is empty.
    op.create_table(
        "review_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resolution_run_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("left_record_id", sa.String(length=64), nullable=False),
        sa.Column("right_record_id", sa.String(length=64), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=False),
        sa.Column("why", sa.String(length=16), nullable=False),
        sa.Column("left_person_id", sa.String(length=16), nullable=True),
        sa.Column("right_person_id", sa.String(length=16), nullable=True),
        sa.Column("decision", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["resolution_run_id"], ["resolution_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_pairs_resolution_run_id", "review_pairs", ["resolution_run_id"])
    op.create_index("ix_review_pairs_left_record_id", "review_pairs", ["left_record_id"])
    op.create_index("ix_review_pairs_right_record_id", "review_pairs", ["right_record_id"])


def downgrade() -> None:
    op.drop_index("ix_review_pairs_right_record_id", table_name="review_pairs")
    op.drop_index("ix_review_pairs_left_record_id", table_name="review_pairs")
    op.drop_index("ix_review_pairs_resolution_run_id", table_name="review_pairs")
    op.drop_table("review_pairs")
