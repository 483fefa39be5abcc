"""Cases and their transitions

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.JSON(), nullable=False),
        sa.Column("address", sa.String(length=512), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_state"), ["state"], unique=False)
    op.create_table(
        "case_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=False),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("guards", sa.JSON(), nullable=False),
        sa.Column("dossier", sa.Text(), nullable=True),
        sa.Column("dossier_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_transitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_transitions_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_transitions_case_id"))
    op.drop_table("case_transitions")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_state"))
        batch_op.drop_index(batch_op.f("ix_cases_person_id"))
    op.drop_table("cases")
