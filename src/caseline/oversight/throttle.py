"""Slowing and then stopping password guessing, per account name and per client address.

Each failed sign-in counts against the name tried (known or not, so a lock says nothing
about which names exist) and against the client's address. From the second failure in a
row the next try must wait (1 s, 2 s, 4 s, ... up to a minute); at the limit the name or the
address is locked for the lockout period, whatever password comes next.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from caseline.db.models import SignInThrottle
from caseline.errors import AccessDenied

_MAX_BACKOFF_SECONDS = 60


class SignInThrottled(AccessDenied):
    """Too many failed sign-ins from this name or client: try again later (HTTP 429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins: try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    max_failures: int = 5  # per account name
    client_max_failures: int = 20  # per client address
    lockout: dt.timedelta = dt.timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Attempt:
    """The keys one sign-in counts against, with the failures each may have."""

    account: str
    client: str | None

    @classmethod
    def of(cls, username: str, client: str | None) -> Attempt:
        return cls(
            account="account:" + username.strip().lower()[:120],
            client=None if client is None else "client:" + client[:120],
        )

    def limits(self, policy: ThrottlePolicy) -> list[tuple[str, int]]:
        pairs = [(self.account, policy.max_failures)]
        if self.client is not None:
            pairs.append((self.client, policy.client_max_failures))
        return pairs


def check_not_throttled(
    session: Session, attempt: Attempt, policy: ThrottlePolicy, now: dt.datetime
) -> None:
    """Raise SignInThrottled while either key is locked or must still wait."""
    waits = [0.0]
    for key, limit in attempt.limits(policy):
        row = session.get(SignInThrottle, key)
        if row is None:
            continue
        # An account slows from its second failure; a client address (maybe an office behind
        # one address) only from a quarter of its limit, so one colleague's typo slows no one.
        slow_from = 2 if key == attempt.account else max(2, limit // 4)
        if row.locked_until is not None and _aware(row.locked_until) > now:
            waits.append((_aware(row.locked_until) - now).total_seconds())
        elif row.failures >= slow_from:
            backoff = _backoff(row.failures - slow_from + 2)
            until = _aware(row.last_failure_at) + dt.timedelta(seconds=backoff)
            waits.append((until - now).total_seconds())
    wait = max(waits)
    if wait > 0:
        raise SignInThrottled(math.ceil(wait))


def count_failure(
    session: Session, attempt: Attempt, policy: ThrottlePolicy, now: dt.datetime
) -> list[str]:
    """Count a failed sign-in against each key; return the keys this failure locked."""
    locked = []
    for key, limit in attempt.limits(policy):
        row = session.get(SignInThrottle, key)
        if row is None:
            row = SignInThrottle(key=key, failures=0, last_failure_at=now, locked_until=None)
            session.add(row)
        elif now - _aware(row.last_failure_at) > policy.lockout:
            row.failures = 0  # an old run of failures is forgiven
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= limit:
            row.failures = 0
            row.locked_until = now + policy.lockout
            locked.append(key)
    session.flush()
    return locked


def forget_failures(
    session: Session, attempt: Attempt, policy: ThrottlePolicy, now: dt.datetime
) -> None:
    """After a right password: the account's count starts again (the client's does not), and
    counts nobody has added to for a lockout period are dropped."""
    session.execute(delete(SignInThrottle).where(SignInThrottle.key == attempt.account))
    stale = now - policy.lockout
    session.execute(
        delete(SignInThrottle).where(
            SignInThrottle.last_failure_at < stale,
            or_(SignInThrottle.locked_until.is_(None), SignInThrottle.locked_until < now),
        )
    )


def _backoff(failures: int) -> int:
    return int(min(2 ** (failures - 2), _MAX_BACKOFF_SECONDS))


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; every stored moment is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
