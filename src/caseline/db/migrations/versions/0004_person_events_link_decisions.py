"""Person events (merges and splits between runs) and reviewers' link decisions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resolution_run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.String(length=16), nullable=False),
        sa.Column("related_person_ids", sa.JSON(), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["resolution_run_id"], ["resolution_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("person_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_person_events_resolution_run_id"), ["resolution_run_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_person_events_person_id"), ["person_id"], unique=False)
    op.create_table(
        "link_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("left_record_id", sa.String(length=32), nullable=False),
        sa.Column("right_record_id", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["left_record_id"], ["source_records.record_id"]),
        sa.ForeignKeyConstraint(["right_record_id"], ["source_records.record_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("link_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_link_decisions_left_record_id"), ["left_record_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("link_decisions")
    op.drop_table("person_events")
