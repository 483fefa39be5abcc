"""The resolution runs, for a data engineer: each run with its engine, model, threshold and
counts, and the evaluation figures recorded after it.

The figures live only in the audit trail (``evaluate_resolution``, ``evaluate_addresses``:
see :mod:`caseline.oversight.accuracy_report`). A run's figures are those of the last
evaluation of each kind recorded after the run's own event (``resolve`` or
``resolve_incrementally``) and before the next run's: the trail's order, not the clock,
decides, so two events in the same instant still fall on the right side. Figures and counts
are no personal data: reading them is not audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import AuditEvent, ResolutionRun
from caseline.oversight import (
    Actor,
    AddressesEvaluated,
    Permission,
    PersonsResolved,
    RecordsPlaced,
    ResolutionEvaluated,
    authorize,
)

OVERALL = "all"  # the group the evaluations key the figures of every record by


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives stored moments back without their zone: they were stored in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


def _figure(figures: dict[str, Any], name: str) -> float | None:
    value = figures.get(name)
    return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True, slots=True)
class GroupAccuracy:
    """The persons' pairwise and B-cubed figures for one naming group ("all": every record)."""

    group: str
    precision: float | None
    recall: float | None
    f1: float | None
    bcubed_f1: float | None
    records: int


@dataclass(frozen=True, slots=True)
class ResolutionFigures:
    """What the last ``caseline evaluate`` after a run measured: "all" first, then groups."""

    event: int  # the audit event that holds them
    evaluated_at: dt.datetime
    truth: str
    groups: tuple[GroupAccuracy, ...]

    @property
    def f1(self) -> float | None:
        overall = next((g for g in self.groups if g.group == OVERALL), None)
        return overall.f1 if overall else None


@dataclass(frozen=True, slots=True)
class AddressFigures:
    """What the last ``caseline evaluate addresses`` after a run measured, over all persons."""

    event: int
    evaluated_at: dt.datetime
    as_of: str
    persons: int
    top1_accuracy: float | None
    most_recent_top1: float | None  # the most-recent-record rule's, for comparison


@dataclass(frozen=True, slots=True)
class ResolutionRunSummary:
    """One resolution run: how it ran, what it made, and how right it was measured to be."""

    run_id: int
    engine: str
    model_file: str  # the model's file name; ``model_path`` is where it is kept
    model_path: str
    threshold: float
    records: int  # a full run's records; an incremental run's new records
    persons: int  # persons after the run
    started_at: dt.datetime
    finished_at: dt.datetime | None
    incremental: bool
    accuracy: ResolutionFigures | None
    addresses: AddressFigures | None

    @property
    def seconds(self) -> float | None:
        """From the run's start (a full run: loading the records) to its end."""
        if self.finished_at is None:
            return None
        return max(0.0, (self.finished_at - self.started_at).total_seconds())

    def as_dict(self) -> dict[str, Any]:
        """The run as JSON-ready values: what the API and ``caseline runs --json`` print."""
        seconds = self.seconds
        accuracy, addresses = self.accuracy, self.addresses
        return {
            "run_id": self.run_id,
            "engine": self.engine,
            "model_file": self.model_file,
            "model_path": self.model_path,
            "threshold": self.threshold,
            "records": self.records,
            "persons": self.persons,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "seconds": None if seconds is None else round(seconds, 3),
            "incremental": self.incremental,
            "f1": accuracy.f1 if accuracy else None,
            "accuracy": None
            if accuracy is None
            else {
                "event": accuracy.event,
                "evaluated_at": accuracy.evaluated_at.isoformat(),
                "truth": accuracy.truth,
                "groups": [
                    {
                        "group": g.group,
                        "precision": g.precision,
                        "recall": g.recall,
                        "f1": g.f1,
                        "bcubed_f1": g.bcubed_f1,
                        "records": g.records,
                    }
                    for g in accuracy.groups
                ],
            },
            "address_top1": addresses.top1_accuracy if addresses else None,
            "addresses": None
            if addresses is None
            else {
                "event": addresses.event,
                "evaluated_at": addresses.evaluated_at.isoformat(),
                "as_of": addresses.as_of,
                "persons": addresses.persons,
                "top1_accuracy": addresses.top1_accuracy,
                "most_recent_top1": addresses.most_recent_top1,
            },
        }


def _accuracy(event: AuditEvent) -> ResolutionFigures | None:
    by_group: dict[str, dict[str, Any]] = event.details.get("by_group") or {}
    if not by_group:
        return None  # an evaluation from before the figures were kept per group
    groups = sorted(by_group, key=lambda g: (g != OVERALL, g))
    return ResolutionFigures(
        event=event.seq,
        evaluated_at=_utc(event.occurred_at) or event.occurred_at,
        truth=PurePath(str(event.details.get("truth", ""))).name,
        groups=tuple(
            GroupAccuracy(
                group=group,
                precision=_figure(by_group[group], "precision"),
                recall=_figure(by_group[group], "recall"),
                f1=_figure(by_group[group], "f1"),
                bcubed_f1=_figure(by_group[group], "bcubed_f1"),
                records=int(by_group[group].get("records") or 0),
            )
            for group in groups
        ),
    )


def _addresses(event: AuditEvent) -> AddressFigures | None:
    overall: dict[str, Any] = (event.details.get("by_group") or {}).get(OVERALL) or {}
    if not overall:
        return None
    return AddressFigures(
        event=event.seq,
        evaluated_at=_utc(event.occurred_at) or event.occurred_at,
        as_of=str(event.details.get("as_of", "")),
        persons=int(overall.get("persons") or event.details.get("persons_judged") or 0),
        top1_accuracy=_figure(overall, "top1_accuracy"),
        most_recent_top1=_figure(overall, "most_recent_top1"),
    )


@dataclass(slots=True)
class _RunTrail:
    incremental: bool = False
    accuracy: ResolutionFigures | None = None
    addresses: AddressFigures | None = None


def _trail(session: Session) -> dict[int, _RunTrail]:
    """Per run the trail names: whether it was incremental, and the last figures of each
    kind recorded after it and before the next run."""
    runs = {PersonsResolved.action: False, RecordsPlaced.action: True}
    evaluations = (ResolutionEvaluated.action, AddressesEvaluated.action)
    found: dict[int, _RunTrail] = {}
    current: _RunTrail | None = None
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action.in_([*runs, *evaluations]))
        .order_by(AuditEvent.seq)
    )
    for event in events:
        if event.action in runs:
            if event.object_id is None or not event.object_id.isdigit():
                current = None
                continue
            current = found[int(event.object_id)] = _RunTrail(runs[event.action])
        elif current is None:
            continue  # an evaluation before any run the trail names
        elif event.action == ResolutionEvaluated.action:
            current.accuracy = _accuracy(event) or current.accuracy
        else:
            current.addresses = _addresses(event) or current.addresses
    return found


def list_resolution_runs(session: Session, *, actor: Actor) -> list[ResolutionRunSummary]:
    """Every resolution run, newest first: engine, model file, threshold, records, persons,
    duration, whether it was incremental, and the figures evaluated after it (F1 overall
    and per naming group; address top-1) before the next run."""
    authorize(actor, Permission.READ_RUNS)
    trail = _trail(session)
    summaries = []
    for run in session.scalars(select(ResolutionRun).order_by(ResolutionRun.id.desc())):
        known = trail.get(run.id, _RunTrail())
        summaries.append(
            ResolutionRunSummary(
                run_id=run.id,
                engine=run.engine,
                model_file=PurePath(run.model_path).name,
                model_path=run.model_path,
                threshold=run.threshold,
                records=run.record_count,
                persons=run.person_count,
                started_at=_utc(run.started_at) or run.started_at,
                finished_at=_utc(run.finished_at),
                incremental=known.incremental,
                accuracy=known.accuracy,
                addresses=known.addresses,
            )
        )
    return summaries
