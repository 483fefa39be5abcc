"""API tokens for scripts: each a named service identity (``token:NAME``) with one role,
an end date, and revocable. Admins make, list and revoke them, each audited; only a token's
hash is stored, and the token itself is shown once, when it is made. Every use is audited,
as a session's start is.

A token acts with at most its role: the policy table decides what it may do, as for a user.
No token has the admin role, so no script can make users or tokens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import ApiToken
from caseline.errors import AccessDenied, InputError, NotFoundError, StateError
from caseline.oversight.access import Actor, Permission, Role
from caseline.oversight.events import Event, permit

TOKEN_PREFIX = "clt_"  # noqa: S105 - tells a script's token from a session's at a glance (and in logs)
IDENTITY_PREFIX = "token:"  # the actor name a token acts under in the audit trail
MAX_DAYS = 366
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,56}$")


@dataclass(frozen=True, kw_only=True)
class ApiTokenCreated(Event):
    action = "create_api_token"
    object_type = "api_token"
    permission = Permission.MANAGE_USERS
    object_field = "name"
    summary = "an API token made for a script, with its role and when it expires"

    name: str
    role: str
    expires_at: str


@dataclass(frozen=True, kw_only=True)
class ApiTokenRevoked(Event):
    action = "revoke_api_token"
    object_type = "api_token"
    permission = Permission.MANAGE_USERS
    object_field = "name"
    summary = "an API token revoked: it is refused from then on"

    name: str


@dataclass(frozen=True, kw_only=True)
class ApiTokensListed(Event):
    action = "list_api_tokens"
    object_type = "api_token"
    permission = Permission.MANAGE_USERS
    summary = "the API tokens listed, with how many"

    count: int


@dataclass(frozen=True, kw_only=True)
class ApiTokenUsed(Event):
    action = "use_api_token"
    object_type = "api_token"
    permission = None
    object_field = "name"
    summary = "a request made with an API token (each use, as a session's sign-in is)"

    name: str


@dataclass(frozen=True, slots=True)
class ApiTokenSummary:
    name: str
    identity: str
    role: str
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if _aware(self.expires_at) <= dt.datetime.now(dt.UTC) else "active"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token and what it is; ``token`` is never stored and never shown again."""

    token: str
    summary: ApiTokenSummary


def is_api_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX)


def create_api_token(
    session: Session, *, name: str, role: Role, days: int, actor: Actor
) -> IssuedToken:
    """Make a token for a script (admins only, audited); refuses a taken or malformed name,
    the admin role, and a life outside 1 to MAX_DAYS days."""
    allowed = permit(actor, ApiTokenCreated)
    key = name.strip().lower()
    if _NAME.match(key) is None:
        raise InputError(
            "token names are 2 to 57 lower-case letters, digits, '.', '_' or '-'", where="name"
        )
    if role is Role.ADMIN:
        raise InputError("no token has the admin role: admins sign in", where="role")
    if not 1 <= days <= MAX_DAYS:
        raise InputError(f"a token lives 1 to {MAX_DAYS} days", where="days")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == key)) is not None:
        raise InputError("a token with this name exists (revoked ones too)", where=f"token {key}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    row = ApiToken(
        name=key,
        token_hash=_hash(token),
        role=role.value,
        created_by=actor.username,
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    session.add(row)
    session.flush()
    allowed.record(
        session,
        ApiTokenCreated(name=key, role=role.value, expires_at=row.expires_at.isoformat()),
    )
    return IssuedToken(token=token, summary=_summary(row))


def list_api_tokens(session: Session, *, actor: Actor) -> list[ApiTokenSummary]:
    """Every token, active or not, without the tokens themselves (admins, audited)."""
    allowed = permit(actor, ApiTokensListed)
    rows = [_summary(row) for row in session.scalars(select(ApiToken).order_by(ApiToken.name))]
    allowed.record(session, ApiTokensListed(count=len(rows)))
    return rows


def revoke_api_token(session: Session, name: str, *, actor: Actor) -> ApiTokenSummary:
    """Refuse the token from now on (admins, audited); revoking twice is refused."""
    allowed = permit(actor, ApiTokenRevoked)
    row = session.scalar(select(ApiToken).where(ApiToken.name == name.strip().lower()))
    if row is None:
        raise NotFoundError(f"no API token named {name!r}")
    if row.revoked_at is not None:
        raise StateError(f"API token {row.name!r} is already revoked")
    row.revoked_at = dt.datetime.now(dt.UTC)
    row.revoked_by = actor.username
    allowed.record(session, ApiTokenRevoked(name=row.name))
    return _summary(row)


def actor_for_api_token(session: Session, token: str) -> Actor:
    """The service identity behind a live token, or AccessDenied; each use is audited."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    if row is None:
        raise AccessDenied("unknown API token")
    now = dt.datetime.now(dt.UTC)
    if row.revoked_at is not None:
        raise AccessDenied(f"API token {row.name!r} was revoked")
    if _aware(row.expires_at) <= now:
        raise AccessDenied(f"API token {row.name!r} expired; an admin makes a new one")
    row.last_used_at = now
    actor = Actor(username=IDENTITY_PREFIX + row.name, role=Role(row.role))
    permit(actor, ApiTokenUsed).record(session, ApiTokenUsed(name=row.name))
    return actor


def _summary(row: ApiToken) -> ApiTokenSummary:
    return ApiTokenSummary(
        name=row.name,
        identity=IDENTITY_PREFIX + row.name,
        role=row.role,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
