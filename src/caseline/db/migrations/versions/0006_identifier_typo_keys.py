"""Keyed hashes of each identifier's one-slip forms, so a mistyped number can be matched

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Records ingested before this revision have none: their numbers match only exactly
    # until they are ingested again.
    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identifier_typo_keys", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.drop_column("identifier_typo_keys")
