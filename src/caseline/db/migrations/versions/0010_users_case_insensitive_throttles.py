"""Case-insensitive user names, disabled users, idle session expiry, sign-in throttles

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 10:00:00

Names that differ only in case (``U_ANALYST`` and ``u_analyst``) could both exist before:
the oldest keeps the folded name; each later one is disabled, and its key is the folded name
with ``#`` and its id, so it can no longer sign in and an admin adds that person again under
a name of its own. Every session's last use starts at its creation.
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_USERS = sa.table(
    "users",
    sa.column("id", sa.Integer()),
    sa.column("username", sa.String()),
    sa.column("username_key", sa.String()),
    sa.column("disabled_at", sa.DateTime(timezone=True)),
)
_SESSIONS = sa.table(
    "user_sessions",
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("last_seen_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("users", sa.Column("username_key", sa.String(length=64), nullable=True))
    op.add_column("users", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    now = dt.datetime.now(dt.UTC)
    taken: set[str] = set()
    for user_id, username in bind.execute(
        sa.select(_USERS.c.id, _USERS.c.username).order_by(_USERS.c.id)
    ).all():
        key = username.lower()
        values: dict[str, object] = {"username_key": key}
        if key in taken:
            values = {"username_key": f"{key[:50]}#{user_id}", "disabled_at": now}
        taken.add(key)
        bind.execute(sa.update(_USERS).where(_USERS.c.id == user_id).values(**values))
    op.create_index("ix_users_username_key", "users", ["username_key"], unique=True)

    op.add_column(
        "user_sessions", sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True)
    )
    bind.execute(sa.update(_SESSIONS).values(last_seen_at=_SESSIONS.c.created_at))
    if bind.dialect.name == "postgresql":
        # SQLite cannot add NOT NULL to a column in place; the ORM always fills both.
        op.alter_column("users", "username_key", nullable=False)
        op.alter_column("user_sessions", "last_seen_at", nullable=False)

    op.create_table(
        "sign_in_throttles",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("sign_in_throttles")
    op.drop_column("user_sessions", "last_seen_at")
    op.drop_index("ix_users_username_key", table_name="users")
    op.drop_column("users", "disabled_at")
    op.drop_column("users", "username_key")
