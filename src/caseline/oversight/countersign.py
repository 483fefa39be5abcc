"""Purposes in words, countersigned: a read of a person (or a bulk export) whose purpose is a
reason rather than a case or a lead waits until a supervisor other than the reader
countersigns that reason for that scope. Until then the request is listed for supervisors;
a countersigned one allows its reader, its scope and its words for ``VALID_DAYS``.

A scope is what the purpose is for: ``person:ID`` (one person's profile and history) or
``export:FORMAT`` (every person, as one file). Each request, countersignature and refusal
is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import PurposeRequest
from caseline.errors import AccessDenied, InputError, NotFoundError, StateError
from caseline.oversight.access import Actor, Permission, require_purpose
from caseline.oversight.events import Event, permit

VALID_DAYS = 7  # a countersigned purpose allows its reads for this long
COUNTERSIGNED = "countersigned"
DECLINED = "declined"


class CountersignPending(AccessDenied):
    """A purpose in words that no supervisor has countersigned (yet): listed for them."""

    def __init__(self, request_id: int, scope: str) -> None:
        super().__init__(
            f"the purpose waits for a supervisor's countersignature (request {request_id}, "
            f"{scope}); or state case:ID, lead:ID or dispute:ID"
        )
        self.request_id = request_id


@dataclass(frozen=True, kw_only=True)
class PurposeRequested(Event):
    action = "request_purpose"
    object_type = "purpose_request"
    permission = None  # whoever may read or export states why; the read itself is checked
    object_field = "request_id"
    summary = "a purpose in words filed for a supervisor's countersignature, with its scope"

    request_id: int
    scope: str
    purpose: str


@dataclass(frozen=True, kw_only=True)
class PurposeCountersigned(Event):
    action = "countersign_purpose"
    object_type = "purpose_request"
    permission = Permission.COUNTERSIGN_PURPOSES
    object_field = "request_id"
    summary = "a purpose in words countersigned by a supervisor (never the reader)"

    request_id: int
    requested_by: str
    scope: str


@dataclass(frozen=True, kw_only=True)
class PurposeDeclined(Event):
    action = "decline_purpose"
    object_type = "purpose_request"
    permission = Permission.COUNTERSIGN_PURPOSES
    object_field = "request_id"
    summary = "a purpose in words declined by a supervisor, with the reason"

    request_id: int
    requested_by: str
    scope: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class PurposeRequestsListed(Event):
    action = "list_purpose_requests"
    object_type = "purpose_request"
    permission = Permission.COUNTERSIGN_PURPOSES
    summary = "the purposes waiting for a countersignature, listed, with how many"

    count: int


@dataclass(frozen=True, slots=True)
class PurposeRequestSummary:
    id: int
    requested_by: str
    role: str
    scope: str
    purpose: str
    requested_at: dt.datetime
    decision: str | None
    decided_by: str | None


def countersigned(session: Session, actor: Actor, scope: str, purpose: str) -> int | None:
    """The countersigned request that allows ``actor`` this purpose for ``scope`` now."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=VALID_DAYS)
    return session.scalar(
        select(PurposeRequest.id)
        .where(
            PurposeRequest.requested_by == actor.username,
            PurposeRequest.scope == scope,
            PurposeRequest.purpose == purpose,
            PurposeRequest.decision == COUNTERSIGNED,
            PurposeRequest.decided_at >= since,
        )
        .order_by(PurposeRequest.id.desc())
        .limit(1)
    )


def seek_countersign(session: Session, actor: Actor, scope: str, purpose: str) -> int | None:
    """None if a countersignature allows the purpose; else the pending request's id, filed
    now (audited) unless the same reader already filed it for the same scope and words."""
    stated = require_purpose(purpose)
    if countersigned(session, actor, scope, stated) is not None:
        return None
    pending = session.scalar(
        select(PurposeRequest.id).where(
            PurposeRequest.requested_by == actor.username,
            PurposeRequest.scope == scope,
            PurposeRequest.purpose == stated,
            PurposeRequest.decision.is_(None),
        )
    )
    if pending is not None:
        return int(pending)
    row = PurposeRequest(
        requested_by=actor.username, role=actor.role.value, scope=scope, purpose=stated
    )
    session.add(row)
    session.flush()
    permit(actor, PurposeRequested).record(
        session, PurposeRequested(request_id=row.id, scope=scope, purpose=stated)
    )
    return row.id


def require_countersigned(session: Session, actor: Actor, scope: str, purpose: str) -> int:
    """The countersigned request that allows this; CountersignPending (403) if none does."""
    found = countersigned(session, actor, scope, require_purpose(purpose))
    if found is not None:
        return found
    pending = session.scalar(
        select(PurposeRequest.id).where(
            PurposeRequest.requested_by == actor.username,
            PurposeRequest.scope == scope,
            PurposeRequest.purpose == require_purpose(purpose),
            PurposeRequest.decision.is_(None),
        )
    )
    if pending is None:
        raise AccessDenied(
            f"a purpose in words needs a supervisor's countersignature for {scope}: "
            "state it first, and it is listed for them"
        )
    raise CountersignPending(int(pending), scope)


def list_pending_purposes(session: Session, *, actor: Actor) -> list[PurposeRequestSummary]:
    """The purposes waiting for a countersignature, oldest first (supervisors, audited)."""
    allowed = permit(actor, PurposeRequestsListed)
    rows = session.scalars(
        select(PurposeRequest)
        .where(PurposeRequest.decision.is_(None))
        .order_by(PurposeRequest.requested_at, PurposeRequest.id)
    ).all()
    allowed.record(session, PurposeRequestsListed(count=len(rows)))
    return [_summary(row) for row in rows]


def countersign_purpose(
    session: Session, request_id: int, *, actor: Actor
) -> PurposeRequestSummary:
    """Countersign a pending purpose (a supervisor, never the one who stated it; audited)."""
    allowed = permit(actor, PurposeCountersigned)
    row = _pending(session, request_id, actor)
    row.decision, row.decided_by = COUNTERSIGNED, actor.username
    row.decided_at = dt.datetime.now(dt.UTC)
    allowed.record(
        session,
        PurposeCountersigned(request_id=row.id, requested_by=row.requested_by, scope=row.scope),
    )
    return _summary(row)


def decline_purpose(
    session: Session, request_id: int, *, actor: Actor, reason: str
) -> PurposeRequestSummary:
    """Decline a pending purpose, saying why (a supervisor; audited)."""
    allowed = permit(actor, PurposeDeclined)
    why = " ".join(reason.split())
    if len(why) < 5:
        raise InputError("say why the purpose is declined (at least 5 characters)", where="reason")
    row = _pending(session, request_id, actor)
    row.decision, row.decided_by, row.reason = DECLINED, actor.username, why[:256]
    row.decided_at = dt.datetime.now(dt.UTC)
    allowed.record(
        session,
        PurposeDeclined(
            request_id=row.id, requested_by=row.requested_by, scope=row.scope, reason=why[:256]
        ),
    )
    return _summary(row)


def _pending(session: Session, request_id: int, actor: Actor) -> PurposeRequest:
    row = session.get(PurposeRequest, request_id)
    if row is None:
        raise NotFoundError(f"no purpose request {request_id}")
    if row.decision is not None:
        raise StateError(f"purpose request {request_id} was already {row.decision}")
    if row.requested_by.lower() == actor.username.lower():
        raise AccessDenied("a purpose is countersigned by someone other than who stated it")
    return row


def _summary(row: PurposeRequest) -> PurposeRequestSummary:
    return PurposeRequestSummary(
        id=row.id,
        requested_by=row.requested_by,
        role=row.role,
        scope=row.scope,
        purpose=row.purpose,
        requested_at=row.requested_at,
        decision=row.decision,
        decided_by=row.decided_by,
    )
