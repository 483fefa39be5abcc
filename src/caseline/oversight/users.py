"""Users: who may sign in, with which role. Admins add, list, disable, enable and reset them
and change their roles, each audited; a change that alters what a user may do ends their
sessions. Names are case-insensitive; passwords meet ``passwords.check_new_password``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseline.db.models import User, UserSession
from caseline.errors import AccessDenied, InputError, NotFoundError, StateError
from caseline.oversight.access import Actor, Role
from caseline.oversight.account_events import (
    PasswordReset,
    RoleChanged,
    UserDisabled,
    UserEnabled,
    UsersListed,
)
from caseline.oversight.events import UserAdded, permit
from caseline.oversight.identity import WRONG_CREDENTIALS, end_sessions, find_user
from caseline.oversight.passwords import (
    check_new_password,
    dummy_hash,
    hash_password,
    verify_password,
)

_USERNAME = re.compile(r"^[A-Za-z0-9._-]{2,64}$")


@dataclass(frozen=True, slots=True)
class UserSummary:
    username: str
    role: str
    enabled: bool
    created_at: dt.datetime
    sessions: int


def create_user(
    session: Session, username: str, role: Role, password: str, *, actor: Actor
) -> User:
    """Add a user (admins only, audited); refuses a taken or malformed name, or a weak
    password."""
    allowed = permit(actor, UserAdded)
    user = _new_user(session, username, role, password)
    allowed.record(session, UserAdded(username=user.username, role=role.value))
    return user


def add_first_admin(session: Session, username: str, password: str) -> User:
    """The workspace's first user, an admin who adds everyone else; refused once anyone exists.

    Whoever can write the workspace can make its first admin: the event names them as its actor.
    """
    if has_users(session):
        raise AccessDenied("the workspace has users: an admin adds new ones (caseline login)")
    user = _new_user(session, username, Role.ADMIN, password)
    permit(_actor(user), UserAdded).record(
        session, UserAdded(username=user.username, role=Role.ADMIN.value)
    )
    return user


def _new_user(session: Session, username: str, role: Role, password: str) -> User:
    if _USERNAME.match(username) is None:
        raise InputError(
            "user names are 2 to 64 letters, digits, '.', '_' or '-'", where="username"
        )
    check_new_password(password, username)
    if find_user(session, username) is not None:
        raise InputError(
            "a user with this name exists (names are not case-sensitive)", where=f"user {username}"
        )
    user = User(
        username=username,
        username_key=username.lower(),
        role=role.value,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    return user


def list_users(session: Session, *, actor: Actor) -> list[UserSummary]:
    """Every user, their role, whether enabled and how many live sessions (admins, audited)."""
    allowed = permit(actor, UsersListed)
    counts = dict(
        session.execute(
            select(UserSession.user_id, func.count()).group_by(UserSession.user_id)
        ).all()
    )
    users = [
        UserSummary(
            username=user.username,
            role=user.role,
            enabled=user.disabled_at is None,
            created_at=user.created_at,
            sessions=int(counts.get(user.id, 0)),
        )
        for user in session.scalars(select(User).order_by(User.username_key))
    ]
    allowed.record(session, UsersListed(count=len(users)))
    return users


def disable_user(session: Session, username: str, *, actor: Actor) -> int:
    """Stop a user signing in and end their sessions; returns how many ended. An admin
    disables others only, and never the last enabled admin."""
    allowed = permit(actor, UserDisabled)
    user = _existing(session, username)
    if user.disabled_at is not None:
        raise StateError(f"user {user.username} is already disabled")
    _keep_an_admin(session, user, still_admin=False)
    _not_oneself(user, actor, "disable")
    user.disabled_at = dt.datetime.now(dt.UTC)
    ended = end_sessions(session, user)
    allowed.record(session, UserDisabled(username=user.username, sessions_ended=ended))
    return ended


def enable_user(session: Session, username: str, *, actor: Actor) -> None:
    allowed = permit(actor, UserEnabled)
    user = _existing(session, username)
    if user.disabled_at is None:
        raise StateError(f"user {user.username} is not disabled")
    if "#" in user.username_key:
        raise StateError(
            f"user {user.username} shares a name with another user but for its case; "
            "add the person again under a name of their own"
        )
    user.disabled_at = None
    allowed.record(session, UserEnabled(username=user.username))


def reset_password(session: Session, username: str, password: str, *, actor: Actor) -> int:
    """Give a user a new password and end their sessions; returns how many ended."""
    allowed = permit(actor, PasswordReset)
    user = _existing(session, username)
    check_new_password(password, user.username)
    user.password_hash = hash_password(password)
    ended = end_sessions(session, user)
    allowed.record(session, PasswordReset(username=user.username, sessions_ended=ended))
    return ended


def set_role(session: Session, username: str, role: Role, *, actor: Actor) -> int:
    """Give a user another role and end their sessions; returns how many ended. An admin
    changes others' roles only, and never takes the last enabled admin's."""
    allowed = permit(actor, RoleChanged)
    user = _existing(session, username)
    if user.role == role.value:
        raise StateError(f"user {user.username} already has the role {role.value}")
    _keep_an_admin(session, user, still_admin=role is Role.ADMIN)
    _not_oneself(user, actor, "change the role of")
    before = user.role
    user.role = role.value
    ended = end_sessions(session, user)
    allowed.record(
        session,
        RoleChanged(
            username=user.username, from_role=before, to_role=role.value, sessions_ended=ended
        ),
    )
    return ended


def user_exists(session: Session, username: str) -> bool:
    return find_user(session, username) is not None


def has_users(session: Session) -> bool:
    return session.scalar(select(User.id).limit(1)) is not None


def actor_with_password(session: Session, username: str, password: str) -> Actor:
    """The actor whose name and password these are, for a program that holds both (the demo,
    acting as the users it made); AccessDenied for a wrong password or a disabled user.
    People sign in through ``sign_in``, which is throttled."""
    user = find_user(session, username)
    matches, _ = verify_password(password, user.password_hash if user else dummy_hash())
    if user is None or not matches or user.disabled_at is not None:
        raise AccessDenied(WRONG_CREDENTIALS)
    return _actor(user)


def _existing(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFoundError(f"no user {username!r} in this workspace")
    return user


def _keep_an_admin(session: Session, user: User, *, still_admin: bool) -> None:
    """Refuse a change that would leave no enabled admin to manage users."""
    if user.role != Role.ADMIN.value or still_admin or user.disabled_at is not None:
        return
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN.value, User.disabled_at.is_(None), User.id != user.id)
    )
    if not others:
        raise StateError(f"{user.username} is the last enabled admin: add another admin first")


def _not_oneself(user: User, actor: Actor, change: str) -> None:
    """Refuse an admin a change to their own account that would lock them out mid-session:
    another admin makes it, so no one removes their own leave by a slip."""
    if user.username_key == actor.username.strip().lower():
        raise StateError(f"an admin may not {change} themselves: another admin does it")


def _actor(user: User) -> Actor:
    return Actor(username=user.username, role=Role(user.role))
