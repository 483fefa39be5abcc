"""The disputes report: disputes filed in a period, per kind, by the state they were in at
the period's end, how long the open ones have waited and how long the decided ones took.

Counts and days only: no person, record or name. Read through the one list of reports
(:data:`caseline.cases.reports.REPORTS`), audited as every report is.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import Dispute
from caseline.oversight import Actor
from caseline.oversight.reports import Cell, Chart, Period, Report, as_utc, recorded, report_permit
from caseline.profiles.disputed import OPEN_STATES, DisputeKind, DisputeState

SECONDS_PER_DAY = 86400
COLUMNS = (
    "kind", "disputes", "filed", "under_review", "upheld", "rejected", "median_open_days",
    "oldest_open_days", "median_days_to_decision", "max_days_to_decision",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _AtEnd:
    """One dispute as it stood at the period's end."""

    kind: str
    state: DisputeState
    waited_days: float  # open: filing to the period's end; decided: filing to decision


def disputes_by_kind(session: Session, *, actor: Actor, period: Period) -> Report:
    """Disputes filed in the period, one row per kind and one for all: how many, how many
    were filed, under review, upheld or rejected at the period's end, the open ones' median
    and oldest age, and the decided ones' median and longest time from filing to decision
    (days, to one decimal)."""
    allowed = report_permit(actor)
    disputes = [_at_end(row, period) for row in _filed_in(session, period)]
    rows = [_row(kind.value, [d for d in disputes if d.kind == kind]) for kind in DisputeKind]
    shown = [row for row in rows if row[1]]
    if shown:
        shown.append(_row("all", disputes))
    report = Report(
        name="disputes",
        title="Disputes by kind and state, and time to decision",
        period=period,
        columns=COLUMNS,
        rows=tuple(shown),
        note="Disputes filed in the period, in the state they were in at its end; open ones' "
        "age counted to the end of the period, time to decision from filing. Counts only: no "
        "person or record is named.",
        chart=Chart("kind", "disputes"),
    )
    return recorded(session, allowed, report)


def _filed_in(session: Session, period: Period) -> Sequence[Dispute]:
    query = select(Dispute).where(Dispute.filed_at < period.until)
    if period.since is not None:
        query = query.where(Dispute.filed_at >= period.since)
    return session.scalars(query.order_by(Dispute.id)).all()


def _at_end(row: Dispute, period: Period) -> _AtEnd:
    filed = as_utc(row.filed_at)
    decided = as_utc(row.decided_at) if row.decided_at is not None else None
    if decided is not None and decided < period.until:
        return _AtEnd(row.kind, DisputeState(row.state), _days(decided - filed))
    started = row.review_started_at
    reviewing = started is not None and as_utc(started) < period.until
    state = DisputeState.UNDER_REVIEW if reviewing else DisputeState.FILED
    return _AtEnd(row.kind, state, _days(period.until - filed))


def _days(span: dt.timedelta) -> float:
    return max(0.0, span.total_seconds() / SECONDS_PER_DAY)


def _row(kind: str, disputes: list[_AtEnd]) -> tuple[Cell, ...]:
    count = {state: sum(1 for d in disputes if d.state is state) for state in DisputeState}
    waiting = [d.waited_days for d in disputes if d.state.value in OPEN_STATES]
    took = [d.waited_days for d in disputes if d.state.value not in OPEN_STATES]
    return (
        kind,
        len(disputes),
        *(count[state] for state in DisputeState),
        _median(waiting),
        _longest(waiting),
        _median(took),
        _longest(took),
    )


def _median(days: list[float]) -> float | None:
    return round(statistics.median(days), 1) if days else None


def _longest(days: list[float]) -> float | None:
    return round(max(days), 1) if days else None
