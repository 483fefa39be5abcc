"""Users, passwords and sign-in sessions. Tokens and passwords are stored only as hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import User, UserSession
from caseline.errors import AccessDenied, InputError
from caseline.oversight.access import Actor, Role
from caseline.oversight.events import SignedIn, SignedOut, UserAdded, permit

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_USERNAME = re.compile(r"^[A-Za-z0-9._-]{2,64}$")


def create_user(
    session: Session, username: str, role: Role, password: str, *, actor: Actor
) -> User:
    """Add a user (admins only, audited); refuses a taken or malformed name, or a short
    password."""
    allowed = permit(actor, UserAdded)
    user = _new_user(session, username, role, password)
    allowed.record(session, UserAdded(username=username, role=role.value))
    return user


def add_first_admin(session: Session, username: str, password: str) -> User:
    """The workspace's first user, an admin who adds everyone else; refused once anyone exists.

    Whoever can write the workspace can make its first admin: the event names them as its actor.
    """
    if has_users(session):
        raise AccessDenied("the workspace has users: an admin adds new ones (CASELINE_USER)")
    user = _new_user(session, username, Role.ADMIN, password)
    actor = _actor(user)
    permit(actor, UserAdded).record(session, UserAdded(username=username, role=Role.ADMIN.value))
    return user


def _new_user(session: Session, username: str, role: Role, password: str) -> User:
    if _USERNAME.match(username) is None:
        raise InputError(
            "user names are 2 to 64 letters, digits, '.', '_' or '-'", where="username"
        )
    if len(password) < 8:
        raise InputError("password must be at least 8 characters", where=f"user {username}")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise InputError("a user with this name exists", where=f"user {username}")
    user = User(username=username, role=role.value, password_hash=_hash_password(password))
    session.add(user)
    session.flush()
    return user


def user_exists(session: Session, username: str) -> bool:
    return session.scalar(select(User.id).where(User.username == username)) is not None


def has_users(session: Session) -> bool:
    return session.scalar(select(User.id).limit(1)) is not None


def actor_named(session: Session, username: str) -> Actor:
    """The actor a user name stands for (the command line's user), or AccessDenied."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccessDenied(f"no user {username!r} in this workspace (caseline users add)")
    return _actor(user)


def sign_in(session: Session, username: str, password: str, *, hours: int) -> str:
    """Check the password and open a session (audited); returns the bearer token, shown once."""
    user = session.scalar(select(User).where(User.username == username))
    # An unknown name costs the same scrypt as a wrong password, so timing tells nothing.
    stored = user.password_hash if user is not None else _dummy_hash()
    if not _check_password(password, stored) or user is None:
        raise AccessDenied("unknown user or wrong password")
    token = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    session.add(
        UserSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
    )
    permit(_actor(user), SignedIn).record(session, SignedIn(username=user.username))
    return token


def sign_out(session: Session, token: str) -> None:
    found = session.get(UserSession, _token_hash(token))
    if found is None:
        return
    user = session.get(User, found.user_id)
    session.delete(found)
    if user is not None:
        permit(_actor(user), SignedOut).record(session, SignedOut(username=user.username))


def actor_for_token(session: Session, token: str) -> Actor:
    """The actor behind a live session token, or AccessDenied."""
    row = session.execute(
        select(User, UserSession.expires_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == _token_hash(token))
    ).first()
    if row is None:
        raise AccessDenied("no valid session; sign in first")
    user, expires_at = row
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.UTC)
    if expires_at <= dt.datetime.now(dt.UTC):
        raise AccessDenied("session expired; sign in again")
    return _actor(user)


def _actor(user: User) -> Actor:
    return Actor(username=user.username, role=Role(user.role))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


@cache
def _dummy_hash() -> str:
    return _hash_password(secrets.token_urlsafe(16))


def _check_password(password: str, stored: str) -> bool:
    _, salt_hex, digest_hex = stored.split("$")
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)
