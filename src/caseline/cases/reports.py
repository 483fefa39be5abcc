"""The oversight reports, in one list: the case reports here (cases by state and age, what
the guards hold, by guard and by week opened, overdue departures), the disputes report
(:mod:`caseline.cases.dispute_report`), beside those read from the audit trail
(:mod:`caseline.oversight.trail_reports`, :mod:`caseline.oversight.accuracy_report`).

The interfaces read a report by name through :func:`read_report`; each report checks the
reader's role (``read_reports``) and records one ``read_report`` event in the reader's
transaction. Case reports show case and person ids, never a person's name.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.cases.departures import Departure, DepartureState, computed_departures
from caseline.cases.dispute_report import disputes_by_kind
from caseline.cases.guards import Thresholds, evaluate, gather_facts
from caseline.cases.lead_cache import ComputedLists, PageLinks, check_page
from caseline.cases.workflow import ACTIVE, Field, Guard, State, transitions_from
from caseline.db.models import Case
from caseline.errors import NotFoundError
from caseline.oversight import Actor
from caseline.oversight.accuracy_report import accuracy_by_group
from caseline.oversight.reports import Cell, Chart, Period, Report, as_utc, recorded, report_permit
from caseline.oversight.trail_reports import (
    count_reads_without_case,
    reads_by_person,
    reads_by_purpose,
    reads_by_user,
    reads_without_case,
    refused_attempts,
)

# Guards that judge who acts (have they read the person, did they propose it) hold no case
# by themselves; the report counts the guards that judge the case's facts.
_ABOUT_WHO_ACTS = frozenset({Guard.IDENTITY_SEEN, Guard.TWO_PEOPLE})
REPORT_PAGE = 50  # rows a page shows of a report read a page at a time
MAX_REPORT_PAGE = 500
_AGE_BANDS = ((30, "under_30_days"), (90, "30_to_90_days"), (365, "90_to_365_days"))


def _cases(session: Session, period: Period) -> list[Case]:
    query = select(Case).where(Case.opened_at < period.until)
    if period.since is not None:
        query = query.where(Case.opened_at >= period.since)
    return list(session.scalars(query.order_by(Case.id)))


def _days(since: dt.datetime, period: Period) -> int:
    return max(0, (period.until - as_utc(since)).days)


def cases_by_state(session: Session, *, actor: Actor, period: Period) -> Report:
    """Cases opened in the period, by the state they are in now: how many, how old (days
    since opened, at the period's end) and how long in their state."""
    allowed = report_permit(actor)
    by_state: dict[str, list[Case]] = defaultdict(list)
    for case in _cases(session, period):
        by_state[case.state].append(case)
    rows: list[tuple[Cell, ...]] = []
    for state in State:
        cases = by_state.get(state.value, [])
        if not cases:
            continue
        ages = [_days(c.opened_at, period) for c in cases]
        bands = [sum(1 for a in ages if low <= a < high) for low, high in _band_limits()]
        rows.append(
            (
                state.value,
                len(cases),
                *bands,
                sum(1 for a in ages if a >= _AGE_BANDS[-1][0]),
                round(statistics.median(ages), 1),
                max(ages),
                round(statistics.median(_days(c.updated_at, period) for c in cases), 1),
            )
        )
    report = Report(
        name="cases-by-state",
        title="Cases by state and age",
        period=period,
        columns=(
            "state",
            "cases",
            *(name for _, name in _AGE_BANDS),
            "over_365_days",
            "median_age_days",
            "oldest_days",
            "median_days_in_state",
        ),
        rows=tuple(rows),
        note="Cases opened in the period, in the state they are in now; ages counted to "
        "the end of the period.",
        chart=Chart("state", "cases"),
    )
    return recorded(session, allowed, report)


def _band_limits() -> list[tuple[int, int]]:
    lows = [0, *(limit for limit, _ in _AGE_BANDS[:-1])]
    return [(low, high) for low, (high, _) in zip(lows, _AGE_BANDS, strict=True)]


@dataclass(frozen=True, slots=True)
class _OpenCase:
    id: int
    opened_at: dt.datetime


# What the guards hold now, kept per database, period, thresholds and data version (cases
# included), so that the guard reports read again with nothing changed judge no case again.
_HELD = ComputedLists(kept=16)


def _held_now(
    session: Session, actor: Actor, period: Period, thresholds: Thresholds
) -> tuple[tuple[_OpenCase, ...], dict[int, dict[Guard, int]]]:
    """The open cases opened in the period, and per case the guards that hold it now at
    any of its next steps (judged at the period's end, each step as it would be proposed at
    the person's likeliest address), with how many steps each holds. The guards about who
    acts are left out, so what holds is the same whoever reads it."""
    ((open_cases, held),) = _HELD.get(
        session,
        "guards-held",
        period.end,
        (period.since, period.until, thresholds),
        lambda: [_judged(session, actor, period, thresholds)],
    )
    return open_cases, held


def _judged(
    session: Session, actor: Actor, period: Period, thresholds: Thresholds
) -> tuple[tuple[_OpenCase, ...], dict[int, dict[Guard, int]]]:
    held: dict[int, dict[Guard, int]] = {}
    open_cases = [c for c in _cases(session, period) if State(c.state) in ACTIVE]
    for case in open_cases:
        facts = gather_facts(session, case, thresholds, period.end)
        own = [a for a in facts.addresses.addresses if not a.lead]
        likeliest = {Field.ADDRESS.value: own[0].address} if own else {}
        steps: dict[Guard, int] = defaultdict(int)
        for transition in transitions_from(State(case.state)):
            for guard in transition.guards:
                if guard in _ABOUT_WHO_ACTS:
                    continue
                if not evaluate(guard, facts, actor, likeliest, case).passed:
                    steps[guard] += 1
        held[case.id] = dict(steps)
    return tuple(_OpenCase(c.id, c.opened_at) for c in open_cases), held


_CASE_GUARDS = tuple(guard for guard in Guard if guard not in _ABOUT_WHO_ACTS)


def guard_holds(
    session: Session, *, actor: Actor, period: Period, thresholds: Thresholds
) -> Report:
    """Per guard: the open cases it holds now, judged as of the period's end, at any of
    their next steps (the step as it would be proposed at the person's likeliest address)."""
    allowed = report_permit(actor)
    open_cases, held = _held_now(session, actor, period, thresholds)
    rows = tuple(
        (
            guard.value,
            sum(1 for guards in held.values() if guard in guards),
            sum(guards.get(guard, 0) for guards in held.values()),
            ", ".join(str(i) for i in sorted(i for i, guards in held.items() if guard in guards)),
        )
        for guard in _CASE_GUARDS
    )
    report = Report(
        name="guard-stops",
        title="Guard stops by guard: the open cases each guard holds",
        period=period,
        columns=("guard", "open_cases_held", "steps_held", "case_ids"),
        rows=rows,
        note=f"{len(open_cases)} open cases opened in the period, judged on {period.end}. "
        "A step a guard stopped is refused and rolled back, so the trail keeps no count "
        "of past stops; this is what the guards hold now.",
        chart=Chart("guard", "open_cases_held"),
    )
    return recorded(session, allowed, report)


def guard_holds_by_week(
    session: Session, *, actor: Actor, period: Period, thresholds: Thresholds
) -> Report:
    """Per week the cases were opened in (from its Monday): the open cases, how many a guard
    holds now, and how many each guard holds, judged as ``guard-stops`` judges them."""
    allowed = report_permit(actor)
    open_cases, held = _held_now(session, actor, period, thresholds)
    weeks: dict[dt.date, list[_OpenCase]] = defaultdict(list)
    for case in open_cases:
        opened = as_utc(case.opened_at).date()
        weeks[opened - dt.timedelta(days=opened.weekday())].append(case)
    rows: list[tuple[Cell, ...]] = []
    for monday, cases in sorted(weeks.items()):
        by_guard = [sum(1 for c in cases if guard in held[c.id]) for guard in _CASE_GUARDS]
        rows.append(
            (monday.isoformat(), len(cases), sum(1 for c in cases if held[c.id]), *by_guard)
        )
    report = Report(
        name="guard-stops-by-week",
        title="Guard stops by week opened: the open cases the guards hold",
        period=period,
        columns=("week_of", "open_cases", "held", *(guard.value for guard in _CASE_GUARDS)),
        rows=tuple(rows),
        note=f"Open cases opened in the period, by the week they were opened (its Monday), "
        f"judged on {period.end}. Past stops leave no record (a stopped step is rolled "
        "back), so this counts what the guards hold now, not the stops of each week.",
        chart=Chart("week_of", "held"),
    )
    return recorded(session, allowed, report)


def _overdue(session: Session, period: Period, thresholds: Thresholds) -> list[Departure]:
    """The voluntary departures overdue at the period's end, longest overdue first."""
    overdue = [
        d
        for d in computed_departures(session, period.end, thresholds)
        if d.state == DepartureState.OVERDUE.value
    ]
    return sorted(overdue, key=lambda d: (d.deadline, d.person_id))


def overdue_departures(
    session: Session,
    *,
    actor: Actor,
    period: Period,
    thresholds: Thresholds,
    offset: int = 0,
    limit: int | None = None,
) -> Report:
    """Voluntary departures whose deadline passed by the period's end with no exit record
    that verifies them, longest overdue first: every one, or ``limit`` from ``offset``."""
    allowed = report_permit(actor)
    shown = _overdue(session, period, thresholds)[
        offset : None if limit is None else offset + limit
    ]
    rows = tuple(
        (
            d.person_id,
            d.case_id,
            d.granted_on.isoformat() if d.granted_on else None,
            d.deadline.isoformat(),
            (period.end - d.deadline).days,
        )
        for d in shown
    )
    report = Report(
        name="overdue-departures",
        title="Overdue voluntary departures",
        period=period,
        columns=("person_id", "case_id", "granted_on", "deadline", "days_overdue"),
        rows=rows,
        note=f"Judged on {period.end} against the exit records; persons by id only.",
    )
    return recorded(session, allowed, report)


Reader = Callable[[Session, Actor, Period, Thresholds], Report]
# A page of a report: (session, actor, period, thresholds, offset, limit) -> the page's report.
PageReader = Callable[[Session, Actor, Period, Thresholds, int, int], Report]
Counter = Callable[[Session, Period, Thresholds], int]


@dataclass(frozen=True, slots=True)
class Paging:
    """How a long report is read a page at a time: the page, and how many rows in all."""

    read: PageReader
    count: Counter


@dataclass(frozen=True, slots=True)
class ReportKind:
    name: str
    title: str
    read: Reader
    paging: Paging | None = None  # a list that grows with use; None: shown whole


@dataclass(frozen=True, slots=True)
class ReportPage(PageLinks):
    """A report as a page shows it: ``report.rows`` are the rows from ``offset``, of
    ``total``; a report read whole is one page of every row."""

    report: Report
    total: int
    offset: int
    limit: int

    @property
    def shown(self) -> int:
        return len(self.report.rows)


def _trail(
    function: Callable[..., Report],
) -> Reader:
    return lambda session, actor, period, _thresholds: function(session, actor=actor, period=period)


def _cases_with(function: Callable[..., Report]) -> Reader:
    return lambda session, actor, period, thresholds: function(
        session, actor=actor, period=period, thresholds=thresholds
    )


_READS_WITHOUT_CASE = Paging(
    read=lambda session, actor, period, _thresholds, offset, limit: reads_without_case(
        session, actor=actor, period=period, offset=offset, limit=limit
    ),
    count=lambda session, period, _thresholds: count_reads_without_case(session, period),
)
_OVERDUE_DEPARTURES = Paging(
    read=lambda session, actor, period, thresholds, offset, limit: overdue_departures(
        session, actor=actor, period=period, thresholds=thresholds, offset=offset, limit=limit
    ),
    count=lambda session, period, thresholds: len(_overdue(session, period, thresholds)),
)

REPORTS: dict[str, ReportKind] = {
    kind.name: kind
    for kind in (
        ReportKind("reads-by-user", "Who looked at whom, by user", _trail(reads_by_user)),
        ReportKind("reads-by-person", "Who looked at whom, by person", _trail(reads_by_person)),
        ReportKind("reads-by-purpose", "Reads by stated purpose", _trail(reads_by_purpose)),
        ReportKind(
            "reads-without-case",
            "Reads without a case",
            _trail(reads_without_case),
            _READS_WITHOUT_CASE,
        ),
        ReportKind("refused-attempts", "Refused attempts", _trail(refused_attempts)),
        ReportKind("cases-by-state", "Cases by state and age", _trail(cases_by_state)),
        ReportKind("guard-stops", "Guard stops by guard", _cases_with(guard_holds)),
        ReportKind(
            "guard-stops-by-week", "Guard stops by week opened", _cases_with(guard_holds_by_week)
        ),
        ReportKind(
            "overdue-departures",
            "Overdue departures",
            _cases_with(overdue_departures),
            _OVERDUE_DEPARTURES,
        ),
        ReportKind("disputes", "Disputes by kind and state", _trail(disputes_by_kind)),
        ReportKind("accuracy-by-group", "Accuracy per naming group", _trail(accuracy_by_group)),
    )
}


def read_report(
    session: Session, name: str, *, actor: Actor, period: Period, thresholds: Thresholds
) -> Report:
    """The report called ``name``, read by ``actor`` and recorded; AccessDenied unless the
    role may read reports, NotFoundError for a name that is no report."""
    report_permit(actor)  # a role without leave learns nothing, not even which names exist
    kind = REPORTS.get(name)
    if kind is None:
        raise NotFoundError(f"no report {name!r}; the reports are: {', '.join(REPORTS)}")
    return kind.read(session, actor, period, thresholds)


def read_report_page(
    session: Session,
    name: str,
    *,
    actor: Actor,
    period: Period,
    thresholds: Thresholds,
    offset: int = 0,
    limit: int = REPORT_PAGE,
) -> ReportPage:
    """The report called ``name`` as a page shows it: a report that grows with use (the
    reads without a case, the overdue departures) ``limit`` rows from ``offset``, any other
    whole. Read and recorded as :func:`read_report` reads it (the event counts the rows
    shown); InputError naming ``offset`` or ``limit`` out of range."""
    report_permit(actor)
    kind = REPORTS.get(name)
    if kind is None:
        raise NotFoundError(f"no report {name!r}; the reports are: {', '.join(REPORTS)}")
    if kind.paging is None:
        report = kind.read(session, actor, period, thresholds)
        return ReportPage(report, len(report.rows), 0, max(len(report.rows), 1))
    check_page(offset, limit, MAX_REPORT_PAGE)
    total = kind.paging.count(session, period, thresholds)
    report = kind.paging.read(session, actor, period, thresholds, offset, limit)
    return ReportPage(report, total, offset, limit)
