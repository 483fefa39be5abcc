"""Reports read from the audit trail alone: who looked at whom (by user, by person, by
purpose, and the reads without a case), the refused attempts, and accuracy per naming group
as the last evaluations recorded it.

A "read" is an event that showed one person: a profile or its merges and splits
(``read_person``, ``read_person_events``, object: the person) or a case or dossier about
them (``read_case``, ``read_dossier``, the person in the details). Searches show names and
counts, not a person; they are counted apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Subquery, case, func, select
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


# The person a read showed: the object for a person event, else the person its details
# name. The reports below count in the database, so their cost grows with the users,
# persons and purposes, not with the reads (the trail only grows); the reads without a case
# are listed a page at a time.
_READ_PERSON = func.coalesce(
    func.nullif(case((AuditEvent.object_type == "person", AuditEvent.object_id)), ""),
    func.nullif(AuditEvent.details["person_id"].as_string(), ""),
)


def _reads(period: Period, *, without_case: bool = False) -> Subquery:
    """Every read of a person in the period (``without_case``: those that named no case), as
    columns to count and group by and the columns the reads without a case list."""
    query = select(
        AuditEvent.seq,
        AuditEvent.occurred_at.label("at"),
        AuditEvent.actor.label("user"),
        AuditEvent.role,
        AuditEvent.action,
        _READ_PERSON.label("person_id"),
        AuditEvent.purpose.label("purpose_as_recorded"),
        func.nullif(AuditEvent.purpose, "").label("stated"),
        func.coalesce(func.nullif(AuditEvent.purpose, ""), "(none)").label("purpose"),
        case((AuditEvent.case_id.is_(None), 1), else_=0).label("without_case"),
    ).where(*_in_period(PERSON_READS, period))
    if without_case:
        query = query.where(AuditEvent.case_id.is_(None))
    return query.subquery()


def _person_reads_of(reads: Subquery) -> ColumnElement[bool]:
    return reads.c.person_id.is_not(None)


def reads_by_user(session: Session, *, actor: Actor, period: Period) -> Report:
    """Per user: how many reads of persons, of how many persons, how many without a case,
    under how many purposes; and how many name searches."""
    allowed = report_permit(actor)
    reads = _reads(period)
    counted = {
        user: (count, persons, without_case, purposes)
        for user, count, persons, without_case, purposes in session.execute(
            select(
                reads.c.user,
                func.count(),
                func.count(reads.c.person_id.distinct()),
                func.sum(reads.c.without_case),
                func.count(reads.c.stated.distinct()),
            )
            .where(_person_reads_of(reads))
            .group_by(reads.c.user)
        )
    }
    # Each user's role as their latest read recorded it.
    latest = select(func.max(reads.c.seq)).where(_person_reads_of(reads)).group_by(reads.c.user)
    roles = {
        user: role
        for user, role in session.execute(
            select(AuditEvent.actor, AuditEvent.role).where(AuditEvent.seq.in_(latest))
        )
    }
    searches = {
        user: count
        for user, count in session.execute(
            select(AuditEvent.actor, func.count())
            .where(*_in_period((SEARCHES,), period))
            .group_by(AuditEvent.actor)
        )
    }
    rows = [
        (user, roles.get(user, ""), *counted.get(user, (0, 0, 0, 0)), searches.get(user, 0))
        for user in sorted(set(counted) | set(searches))
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
    reads = _reads(period)
    readers: dict[str, set[str]] = defaultdict(set)
    for person, user in session.execute(
        select(reads.c.person_id, reads.c.user).where(_person_reads_of(reads)).distinct()
    ):
        readers[str(person)].add(user)
    rows: list[tuple[Cell, ...]] = [
        (
            str(person),
            count,
            len(readers[str(person)]),
            ", ".join(sorted(readers[str(person)])),
            without_case,
            as_utc(last).isoformat(timespec="seconds"),
        )
        for person, count, without_case, last in session.execute(
            select(
                reads.c.person_id,
                func.count(),
                func.sum(reads.c.without_case),
                func.max(reads.c.at),
            )
            .where(_person_reads_of(reads))
            .group_by(reads.c.person_id)
        )
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
    reads = _reads(period)
    rows: list[tuple[Cell, ...]] = [
        (str(purpose), count, users, persons, without_case)
        for purpose, count, users, persons, without_case in session.execute(
            select(
                reads.c.purpose,
                func.count(),
                func.count(reads.c.user.distinct()),
                func.count(reads.c.person_id.distinct()),
                func.sum(reads.c.without_case),
            )
            .where(_person_reads_of(reads))
            .group_by(reads.c.purpose)
        )
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


def count_reads_without_case(session: Session, period: Period) -> int:
    """How many reads of a person in the period named no case (unaudited: a report's
    reader reads the rows through :func:`reads_without_case`)."""
    reads = _reads(period, without_case=True)
    query = select(func.count()).select_from(reads).where(reads.c.person_id.is_not(None))
    return int(session.scalar(query) or 0)


def reads_without_case(
    session: Session, *, actor: Actor, period: Period, offset: int = 0, limit: int | None = None
) -> Report:
    """The reads of a person that named no case, newest first, with their stated purpose:
    every one, or ``limit`` of them from ``offset`` (a page; the trail only grows, so the
    page is found and cut in the database)."""
    allowed = report_permit(actor)
    reads = _reads(period, without_case=True)
    query = (
        select(
            reads.c.at, reads.c.user, reads.c.role, reads.c.action, reads.c.person_id,
            reads.c.purpose_as_recorded,
        )
        .where(reads.c.person_id.is_not(None))
        .order_by(reads.c.seq.desc())
        .offset(offset)
        .limit(limit)
    )  # fmt: skip
    rows = tuple(
        (as_utc(at).isoformat(timespec="seconds"), user, role, action, str(person), purpose)
        for at, user, role, action, person, purpose in session.execute(query)
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
