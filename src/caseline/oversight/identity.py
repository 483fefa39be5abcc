"""Sign-in sessions: who a token stands for, until when. Tokens are stored only as hashes.

A session ends at the first of: sign-out, its absolute end (``hours`` after sign-in), an idle
period with no request, or its user being disabled, reset or given another role. Signing in
is throttled (``throttle.py``); every failure is audited, and the answer to an unknown name
is the same, and costs the same, as to a wrong password.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import User, UserSession
from caseline.errors import AccessDenied
from caseline.oversight.access import Actor, Role
from caseline.oversight.account_events import SignInFailed, SignInLocked, record_unproven
from caseline.oversight.api_tokens import actor_for_api_token, is_api_token
from caseline.oversight.events import SignedIn, SignedOut, permit
from caseline.oversight.passwords import dummy_hash, hash_password, verify_password
from caseline.oversight.throttle import (
    Attempt,
    SignInThrottled,
    ThrottlePolicy,
    check_not_throttled,
    count_failure,
    forget_failures,
)

WRONG_CREDENTIALS = "unknown user or wrong password"
DEFAULT_IDLE = dt.timedelta(minutes=30)
_TOUCH_EVERY = dt.timedelta(seconds=30)  # how stale last_seen_at may get before it is written


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a session lives: ``hours`` at most, and ``idle`` without a request."""

    hours: int = 8
    idle: dt.timedelta = DEFAULT_IDLE
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)

    @classmethod
    def of(cls, settings: Settings) -> SessionPolicy:
        return cls(
            hours=settings.session_hours,
            idle=dt.timedelta(minutes=settings.session_idle_minutes),
            throttle=ThrottlePolicy(
                max_failures=settings.sign_in_max_failures,
                client_max_failures=settings.sign_in_client_max_failures,
                lockout=dt.timedelta(minutes=settings.sign_in_lockout_minutes),
            ),
        )


def sign_in(
    database: Database,
    username: str,
    password: str,
    *,
    policy: SessionPolicy,
    client: str | None = None,
) -> str:
    """Check the password and open a session; returns the bearer token, shown once.

    Runs its own transactions: a failure is counted and audited even though it is refused.
    Raises AccessDenied (wrong name or password, disabled) or SignInThrottled.
    """
    attempt = Attempt.of(username, client)
    now = dt.datetime.now(dt.UTC)
    with database.transaction() as session:
        refusal = _try_sign_in(session, username, password, attempt, policy, now)
        if isinstance(refusal, str):
            return refusal
    with database.transaction() as session:
        _count_refusal(session, username, client, attempt, policy, refusal, now)
    raise refusal


def _try_sign_in(
    session: Session,
    username: str,
    password: str,
    attempt: Attempt,
    policy: SessionPolicy,
    now: dt.datetime,
) -> str | AccessDenied:
    """The new token, or the refusal to count and raise once this transaction is over."""
    try:
        check_not_throttled(session, attempt, policy.throttle, now)
    except SignInThrottled as exc:
        return exc
    user = find_user(session, username)
    # An unknown name costs the same hash as a wrong password, so timing tells nothing.
    matches, stale_hash = verify_password(
        password, user.password_hash if user is not None else dummy_hash()
    )
    if user is None or not matches or user.disabled_at is not None:
        return AccessDenied(WRONG_CREDENTIALS)
    if stale_hash:
        user.password_hash = hash_password(password)
    forget_failures(session, attempt, policy.throttle, now)
    remove_expired_sessions(session, policy, now)
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + dt.timedelta(hours=policy.hours),
        )
    )
    permit(_actor(user), SignedIn).record(session, SignedIn(username=user.username))
    return token


def _count_refusal(
    session: Session,
    username: str,
    client: str | None,
    attempt: Attempt,
    policy: SessionPolicy,
    refusal: AccessDenied,
    now: dt.datetime,
) -> None:
    throttled = isinstance(refusal, SignInThrottled)
    reason = "throttled" if throttled else "wrong_credentials"
    user = find_user(session, username)
    if not throttled and user is not None and user.disabled_at is not None:
        reason = "disabled"
    record_unproven(
        session, SignInFailed(username=username.strip()[:64], client=client, reason=reason)
    )
    if throttled:
        return  # a throttled try is not counted again: the wait would never end
    minutes = int(policy.throttle.lockout.total_seconds() // 60)
    for key in count_failure(session, attempt, policy.throttle, now):
        record_unproven(session, SignInLocked(key=key[:64], minutes=minutes))


def sign_out(session: Session, token: str) -> None:
    found = session.get(UserSession, token_hash(token))
    if found is None:
        return
    user = session.get(User, found.user_id)
    session.delete(found)
    if user is not None:
        permit(_actor(user), SignedOut).record(session, SignedOut(username=user.username))


def actor_for_token(session: Session, token: str, *, idle: dt.timedelta = DEFAULT_IDLE) -> Actor:
    """The actor behind a live session token, or AccessDenied; a live one is marked used.
    A script's API token (``api_tokens.py``) stands for its service identity."""
    if is_api_token(token):
        return actor_for_api_token(session, token)
    row = session.execute(
        select(User, UserSession)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == token_hash(token))
    ).first()
    if row is None:
        raise AccessDenied("no valid session; sign in first")
    user, found = row
    now = dt.datetime.now(dt.UTC)
    if _aware(found.expires_at) <= now:
        raise AccessDenied("session expired; sign in again")
    last_seen = _aware(found.last_seen_at or found.created_at)
    if last_seen + idle <= now:
        raise AccessDenied("session expired after being idle; sign in again")
    if user.disabled_at is not None:
        raise AccessDenied("this user is disabled")
    if now - last_seen > _TOUCH_EVERY:
        found.last_seen_at = now
    return _actor(user)


def csrf_token(token: str) -> str:
    """The anti-forgery token that goes with a session token: forms and scripts send it back,
    which a page of another site, unable to read the cookie, cannot compute."""
    return hmac.new(token.encode(), b"caseline csrf", hashlib.sha256).hexdigest()


def remove_expired_sessions(
    session: Session, policy: SessionPolicy, now: dt.datetime | None = None
) -> int:
    """Delete every session past its absolute end or idle too long; returns how many."""
    now = now or dt.datetime.now(dt.UTC)
    result = session.execute(
        delete(UserSession).where(
            or_(UserSession.expires_at <= now, UserSession.last_seen_at <= now - policy.idle)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def end_sessions(session: Session, user: User) -> int:
    """End every session of ``user`` (disabled, reset, role changed); returns how many."""
    result = session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    return int(getattr(result, "rowcount", 0) or 0)


def find_user(session: Session, username: str) -> User | None:
    """The user a name stands for, whatever its case."""
    key = username.strip().lower()
    return session.scalar(select(User).where(User.username_key == key))


def _actor(user: User) -> Actor:
    return Actor(username=user.username, role=Role(user.role))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
