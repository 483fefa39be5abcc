"""Indexes on the initials of the names of undated status records, for possible matches

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 01:20:00

A case looks for status records that may be its person's though resolution placed them on
someone else (caseline.profiles.status_nearby). A record that gives no date of birth is
found by the initial of either of its names. These partial indexes hold only such records
(a few thousand in a million), under the first letter of the family name and of the given
name. Their condition repeats the query's (caseline.profiles.status_evidence's
status_record_filter, written as each dialect renders it) so that the planner can use them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUS_BEARING = (
    "source IN ('immigration_status', 'court', 'entry_exit') OR citizenship IS NOT NULL"
    " OR CAST({status} AS VARCHAR) IS NOT NULL"
)
_UNDATED_STATUS = {
    "postgresql": "date_of_birth IS NULL AND ("
    + _STATUS_BEARING.format(status="(extra ->> 'status')")
    + ")",
    "sqlite": "date_of_birth IS NULL AND ("
    + _STATUS_BEARING.format(status="JSON_EXTRACT(extra, '$.\"status\"')")
    + ")",
}
INDEXES = {
    "ix_source_records_undated_status_family_initial": "family_name",
    "ix_source_records_undated_status_given_initial": "given_name",
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect not in _UNDATED_STATUS:
        raise RuntimeError(f"migration 0018: no index condition written for {dialect}")
    where = sa.text(_UNDATED_STATUS[dialect])
    for name, column in INDEXES.items():
        op.create_index(
            name,
            "source_records",
            [sa.text(f"substr({column}, 1, 1)")],
            postgresql_where=where,
            sqlite_where=where,
        )


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="source_records")
