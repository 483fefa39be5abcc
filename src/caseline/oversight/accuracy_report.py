"""Accuracy per naming group from the last evaluations, as the audit trail recorded them.

``caseline evaluate`` and ``caseline evaluate addresses`` record their figures per group in
their own audit events (``evaluate_resolution``, ``evaluate_addresses``), so what the report
shows is keyed, chained and attributable like any other event, and nothing else stores it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import AuditEvent
from caseline.oversight.access import Actor
from caseline.oversight.reports import Cell, Chart, Period, Report, as_utc, recorded, report_permit

RESOLUTION = "evaluate_resolution"
ADDRESSES = "evaluate_addresses"
_RESOLUTION_FIGURES = ("records", "precision", "recall", "f1", "bcubed_f1")
_ADDRESS_FIGURES = ("persons", "top1_accuracy", "most_recent_top1", "brier", "ece")
COLUMNS = (
    "group",
    *_RESOLUTION_FIGURES,
    *(f"address_{name}" for name in _ADDRESS_FIGURES),
)


def _last(session: Session, action: str, period: Period) -> AuditEvent | None:
    """The newest evaluation of this kind that kept its figures, up to the period's end."""
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == action, AuditEvent.occurred_at < period.until)
        .order_by(AuditEvent.seq.desc())
    )
    return next((e for e in events if e.details.get("by_group")), None)


def _described(event: AuditEvent | None, what: str) -> str:
    if event is None:
        return f"{what}: no evaluation with figures per group yet"
    when = as_utc(event.occurred_at).isoformat(timespec="seconds")
    return f"{what}: event {event.seq}, {when}, by {event.actor}"


def accuracy_by_group(session: Session, *, actor: Actor, period: Period) -> Report:
    """Per naming group ("all" first): the persons' precision, recall, F1 and B-cubed F1
    from the last ``caseline evaluate``, and address confidence's top-1, Brier and ECE
    beside the most-recent rule's top-1 from the last ``caseline evaluate addresses``."""
    allowed = report_permit(actor)
    resolution = _last(session, RESOLUTION, period)
    addresses = _last(session, ADDRESSES, period)
    persons: dict[str, Any] = resolution.details["by_group"] if resolution else {}
    places: dict[str, Any] = addresses.details["by_group"] if addresses else {}
    groups = sorted(set(persons) | set(places), key=lambda g: (g != "all", g))
    rows: list[tuple[Cell, ...]] = []
    for group in groups:
        ours, theirs = persons.get(group, {}), places.get(group, {})
        rows.append(
            (
                group,
                *(ours.get(name) for name in _RESOLUTION_FIGURES),
                *(theirs.get(name) for name in _ADDRESS_FIGURES),
            )
        )
    report = Report(
        name="accuracy-by-group",
        title="Accuracy per naming group, from the last evaluations",
        period=period,
        columns=COLUMNS,
        rows=tuple(rows),
        note="; ".join([_described(resolution, "persons"), _described(addresses, "addresses")])
        + ". The last evaluation up to the period's end; its start is not used.",
        chart=Chart("group", "f1") if persons else None,
    )
    return recorded(session, allowed, report)
