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
from caseline.oversight.audit import AuditEntry, record_event

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_USERNAME = re.compile(r"^[A-Za-z0-9._-]{2,64}$")


def create_user(
    session: Session, username: str, role: Role, password: str, *, actor: Actor
) -> User:
    """Add a user (audited); refuses a taken or malformed name, or a short password."""
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
    record_event(
        session,
        AuditEntry.by(
            actor,
            "add_user",
            "user",
            object_id=username,
            details={"role": role.value},
        ),
    )
    return user


def user_exists(session: Session, username: str) -> bool:
    return session.scalar(select(User.id).where(User.username == username)) is not None


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
    record_event(session, AuditEntry.by(_actor(user), "sign_in", "user", object_id=user.username))
    return token


def sign_out(session: Session, token: str) -> None:
    found = session.get(UserSession, _token_hash(token))
    if found is None:
        return
    user = session.get(User, found.user_id)
    session.delete(found)
    if user is not None:
        entry = AuditEntry.by(_actor(user), "sign_out", "user", object_id=user.username)
        record_event(session, entry)


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
