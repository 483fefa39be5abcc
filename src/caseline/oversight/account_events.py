"""Audit events about accounts and the defences around them: failed and locked sign-ins,
refused requests, and what admins do to users. Registered beside the other event types.

A failed sign-in has no proven actor: it is recorded as ``anonymous`` against the name that
was tried, through :func:`record_unproven`; every other event goes through ``permit``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from caseline.oversight.access import Actor, Permission
from caseline.oversight.audit import AuditEntry, record_event
from caseline.oversight.events import Event

ANONYMOUS = "anonymous"


@dataclass(frozen=True, kw_only=True)
class SignInFailed(Event):
    action = "sign_in_failed"
    object_type = "user"
    permission = None
    object_field = "username"
    summary = "a sign-in refused: wrong password, unknown or disabled user, or throttled"

    username: str  # the name tried, which may be no user's
    client: str | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class SignInLocked(Event):
    action = "sign_in_locked"
    object_type = "user"
    permission = None
    object_field = "key"
    summary = "an account name or a client address locked after too many failed sign-ins"

    key: str
    minutes: int


@dataclass(frozen=True, kw_only=True)
class RequestRefused(Event):
    action = "request_refused"
    object_type = "request"
    permission = None
    object_field = "path"
    summary = "a request refused (401, 403 or 429): no session, a role without leave, or CSRF"

    path: str
    method: str
    status: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class UserDisabled(Event):
    action = "disable_user"
    object_type = "user"
    permission = Permission.MANAGE_USERS
    object_field = "username"
    summary = "a user disabled, with the number of their sessions ended"

    username: str
    sessions_ended: int


@dataclass(frozen=True, kw_only=True)
class UserEnabled(Event):
    action = "enable_user"
    object_type = "user"
    permission = Permission.MANAGE_USERS
    object_field = "username"
    summary = "a disabled user enabled again"

    username: str


@dataclass(frozen=True, kw_only=True)
class PasswordReset(Event):
    action = "reset_password"
    object_type = "user"
    permission = Permission.MANAGE_USERS
    object_field = "username"
    summary = "a user's password set by an admin, with the number of their sessions ended"

    username: str
    sessions_ended: int


@dataclass(frozen=True, kw_only=True)
class RoleChanged(Event):
    action = "change_role"
    object_type = "user"
    permission = Permission.MANAGE_USERS
    object_field = "username"
    summary = "a user's role changed, from and to, with the number of their sessions ended"

    username: str
    from_role: str
    to_role: str
    sessions_ended: int


@dataclass(frozen=True, kw_only=True)
class UsersListed(Event):
    action = "list_users"
    object_type = "user"
    permission = Permission.MANAGE_USERS
    summary = "the users listed, with how many"

    count: int


def record_unproven(session: Session, event: Event, *, actor: Actor | None = None) -> None:
    """Record an event that needs no leave (a refusal, a failed sign-in), in the caller's
    transaction; its actor is ``anonymous`` unless a session proved who it was."""
    if event.permission is not None:
        raise TypeError(f"{type(event).__name__} needs a permit: record it through one")
    record_event(
        session,
        AuditEntry(
            actor=actor.username if actor else ANONYMOUS,
            role=actor.role.value if actor else ANONYMOUS,
            action=event.action,
            object_type=event.object_type,
            object_id=None if event.object_id is None else event.object_id[:64],
            case_id=event.case_id,
            details=event.details,
        ),
    )
