"""Reports read from the audit trail alone: who looked at whom (by user, by person, by
purpose, and the reads without a case), the refused attempts, and accuracy per naming group
as the last evaluations recorded it.

A "read" is an event that showed one person: a profile or its merges and splits
(``read_person``, ``read_person_events``, object: the person) or a case or dossier about
them (``read_case``, ``read_dossier``, the person in the details). Searches show names and
counts, not a person; they are counted apart.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.orm import Session

from caseline.db.models import AuditEvent
from caseline.oversight.access import Actor
from caseline.oversight.reports import (
    Cell,
    Chart,
    Period,
    Report,
    as_utc,
    recorded,
    report_permit,
)

PERSON_READS = ("read_person", "read_person_events", "read_case", "read_dossier")
SEARCHES = "search_persons"
REFUSALS = ("request_refused", "sign_in_failed", "sign_in_locked")


@dataclass(frozen=True, slots=True)
class Read:
    """One event that showed a person to a user."""

    at: dt.datetime
    user: str
    role: str
    action: str
    person_id: str
    purpose: str | None
    case_id: str | None


# What the reports read of an event: plain rows, not ORM objects (a report reads every event
# of its kind in the period, so building and tracking an object for each costs the most).
_READ_COLUMNS = (
    AuditEvent.occurred_at,
    AuditEvent.actor,
    AuditEvent.role,
    AuditEvent.action,
    AuditEvent.object_type,
    AuditEvent.object_id,
    AuditEvent.purpose,
    AuditEvent.case_id,
    AuditEvent.details,
)


def _in_period(actions: Sequence[str], period: Period) -> list[ColumnElement[bool]]:
    kept = [AuditEvent.action.in_(actions), AuditEvent.occurred_at < period.until]
    if period.since is not None:
        kept.append(AuditEvent.occurred_at >= period.since)
    return kept


def _events(session: Session, actions: Sequence[str], period: Period) -> Iterable[Row[Any]]:
    query = select(*_READ_COLUMNS).where(*_in_period(actions, period))
    return session.execute(query.order_by(AuditEvent.seq))


def person_reads(session: Session, period: Period) -> list[Read]:
    """Every read of a person in the period, oldest first (unaudited: for the reports)."""
    reads = []
    for event in _events(session, PERSON_READS, period):
        person = event.object_id if event.object_type == "person" else None
        person = person or str(event.details.get("person_id") or "")
        if person:
            reads.append(
                Read(
                    at=as_utc(event.occurred_at),
                    user=event.actor,
                    role=event.role,
                    action=event.action,
                    person_id=person,
                    purpose=event.purpose,
                    case_id=event.case_id,
                )
            )
    return reads


def reads_by_user(session: Session, *, actor: Actor, period: Period) -> Report:
    """Per user: how many reads of persons, of how many persons, how many without a case,
    under how many purposes; and how many name searches."""
    allowed = report_permit(actor)
    reads = person_reads(session, period)
    searches: dict[str, int] = dict(
        session.execute(
            select(AuditEvent.actor, func.count())
            .where(*_in_period((SEARCHES,), period))
            .group_by(AuditEvent.actor)
        ).all()
    )
    roles: dict[str, str] = {}
    by_user: dict[str, list[Read]] = defaultdict(list)
    for read in reads:
        by_user[read.user].append(read)
        roles[read.user] = read.role
    users = sorted(set(by_user) | set(searches))
    rows = [
        (
            user,
            roles.get(user, ""),
            len(by_user[user]),
            len({r.person_id for r in by_user[user]}),
            sum(1 for r in by_user[user] if r.case_id is None),
            len({r.purpose for r in by_user[user] if r.purpose}),
            searches.get(user, 0),
        )
        for user in users
    ]
    rows.sort(key=lambda row: (-int(row[2] or 0), str(row[0])))
    report = Report(
        name="reads-by-user",
        title="Who looked at whom: reads of persons by user",
        period=period,
        columns=("user", "role", "reads", "persons", "without_case", "purposes", "searches"),
        rows=tuple(rows),
        note="A read showed one person (a profile, its merges, a case or a dossier); a "
        "search shows names and counts only.",
        chart=Chart("user", "reads"),
    )
    return recorded(session, allowed, report)


def reads_by_person(session: Session, *, actor: Actor, period: Period) -> Report:
    """Per person (by id): how many reads, by how many users, how many without a case."""
    allowed = report_permit(actor)
    by_person: dict[str, list[Read]] = defaultdict(list)
    for read in person_reads(session, period):
        by_person[read.person_id].append(read)
    rows: list[tuple[Cell, ...]] = [
        (
            person,
            len(reads),
            len({r.user for r in reads}),
            ", ".join(sorted({r.user for r in reads})),
            sum(1 for r in reads if r.case_id is None),
            reads[-1].at.isoformat(timespec="seconds"),
        )
        for person, reads in by_person.items()
    ]
    rows.sort(key=lambda row: (-int(row[1] or 0), str(row[0])))
    report = Report(
        name="reads-by-person",
        title="Who looked at whom: reads by person",
        period=period,
        columns=("person_id", "reads", "readers", "users", "without_case", "last_read"),
        rows=tuple(rows),
        note="Persons by id only: the report shows who was read, never what.",
    )
    return recorded(session, allowed, report)


def reads_by_purpose(session: Session, *, actor: Actor, period: Period) -> Report:
    """Per stated purpose: how many reads, by how many users, of how many persons."""
    allowed = report_permit(actor)
    by_purpose: dict[str, list[Read]] = defaultdict(list)
    for read in person_reads(session, period):
        by_purpose[read.purpose or "(none)"].append(read)
    rows: list[tuple[Cell, ...]] = [
        (
            purpose,
            len(reads),
            len({r.user for r in reads}),
            len({r.person_id for r in reads}),
            sum(1 for r in reads if r.case_id is None),
        )
        for purpose, reads in by_purpose.items()
    ]
    rows.sort(key=lambda row: (-int(row[1] or 0), str(row[0])))
    report = Report(
        name="reads-by-purpose",
        title="Who looked at whom: reads by stated purpose",
        period=period,
        columns=("purpose", "reads", "users", "persons", "without_case"),
        rows=tuple(rows),
        note="Reads of a case or a dossier state the case as their purpose.",
    )
    return recorded(session, allowed, report)


def reads_without_case(session: Session, *, actor: Actor, period: Period) -> Report:
    """Every read of a person that named no case, newest first, with its stated purpose."""
    allowed = report_permit(actor)
    reads = [r for r in person_reads(session, period) if r.case_id is None]
    rows = tuple(
        (r.at.isoformat(timespec="seconds"), r.user, r.role, r.action, r.person_id, r.purpose)
        for r in reversed(reads)
    )
    report = Report(
        name="reads-without-case",
        title="Reads of persons without a case",
        period=period,
        columns=("at", "user", "role", "action", "person_id", "purpose"),
        rows=rows,
        note="A read without a case rests on its stated purpose alone.",
    )
    return recorded(session, allowed, report)


def refused_attempts(session: Session, *, actor: Actor, period: Period) -> Report:
    """Every refused request and failed or locked sign-in, newest first."""
    allowed = report_permit(actor)
    rows = []
    for event in _events(session, REFUSALS, period):
        details = event.details
        if event.action == "request_refused":
            what = f"{details.get('method', '')} {event.object_id or ''}".strip()
            status, reason = details.get("status"), details.get("reason")
        else:
            what = event.object_id or ""
            status = 429 if event.action == "sign_in_locked" else 401
            reason = details.get("reason") or f"locked for {details.get('minutes')} minutes"
        rows.append(
            (
                as_utc(event.occurred_at).isoformat(timespec="seconds"),
                event.actor,
                event.role,
                event.action,
                what,
                status,
                str(reason or ""),
            )
        )
    rows.reverse()
    report = Report(
        name="refused-attempts",
        title="Refused attempts: requests refused, sign-ins failed or locked",
        period=period,
        columns=("at", "user", "role", "kind", "what", "status", "reason"),
        rows=tuple(rows),
        note="A failed sign-in has no proven user: it is recorded as anonymous against "
        "the name tried ('what').",
    )
    return recorded(session, allowed, report)
