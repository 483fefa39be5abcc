"""The audit trail read as it is, for auditors: every event, newest first, narrowed by who,
what, which object and when, a page at a time. Reading it is itself an event."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from caseline.db.models import AuditEvent
from caseline.errors import InputError
from caseline.oversight.access import Actor, Permission
from caseline.oversight.events import Event, permit
from caseline.oversight.reports import Period, as_utc

MAX_PAGE = 200


@dataclass(frozen=True, kw_only=True)
class TrailRead(Event):
    action = "read_audit_trail"
    object_type = "audit"
    permission = Permission.READ_AUDIT
    summary = "the audit trail read as it is: the filters, the page, and how many events showed"

    who: str | None
    what: str | None
    about: str | None
    date_from: str | None
    date_to: str
    offset: int
    shown: int


@dataclass(frozen=True, slots=True)
class TrailFilters:
    """Narrow the trail: an actor, an action, an object (a person, case or record id), and
    the days (both inclusive)."""

    period: Period
    who: str | None = None
    what: str | None = None
    about: str | None = None


@dataclass(frozen=True, slots=True)
class TrailEvent:
    seq: int
    occurred_at: dt.datetime
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str | None
    purpose: str | None
    case_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TrailPage:
    total: int
    offset: int
    events: tuple[TrailEvent, ...]


def read_trail(
    session: Session, *, actor: Actor, filters: TrailFilters, offset: int = 0, limit: int = 50
) -> TrailPage:
    """The events the filters keep, newest first, ``limit`` from ``offset`` (audited)."""
    allowed = permit(actor, TrailRead)
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise InputError(f"a page is 1 to {MAX_PAGE} events from offset 0 on", where="limit")
    kept = _conditions(filters)
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*kept)) or 0
    rows = session.scalars(
        select(AuditEvent).where(*kept).order_by(AuditEvent.seq.desc()).offset(offset).limit(limit)
    ).all()
    page = tuple(_event(row) for row in rows)
    allowed.record(
        session,
        TrailRead(
            who=filters.who,
            what=filters.what,
            about=filters.about,
            date_from=filters.period.start.isoformat() if filters.period.start else None,
            date_to=filters.period.end.isoformat(),
            offset=offset,
            shown=len(page),
        ),
    )
    return TrailPage(total, offset, page)


def _conditions(filters: TrailFilters) -> list[ColumnElement[bool]]:
    kept: list[ColumnElement[bool]] = [AuditEvent.occurred_at < filters.period.until]
    if filters.period.since is not None:
        kept.append(AuditEvent.occurred_at >= filters.period.since)
    if filters.who:
        kept.append(func.lower(AuditEvent.actor) == filters.who.strip().lower())
    if filters.what:
        kept.append(AuditEvent.action == filters.what.strip())
    if filters.about:
        about = filters.about.strip()
        kept.append((AuditEvent.object_id == about) | (AuditEvent.case_id == about))
    return kept


def _event(row: AuditEvent) -> TrailEvent:
    return TrailEvent(
        seq=row.seq,
        occurred_at=as_utc(row.occurred_at),
        actor=row.actor,
        role=row.role,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        purpose=row.purpose,
        case_id=row.case_id,
        details=dict(row.details or {}),
    )
