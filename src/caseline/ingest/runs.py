"""The ingest runs, for a data engineer: every file loaded with its counts and pace, and one
file's problems a page at a time.

The list of runs holds no personal data: a value issue's reason is shown with the values it
quotes masked (``'1980-13-01' is not a valid date`` reads ``'…' is not a valid date``), so
alike reasons count together. A file's problems show the raw rows and values as written, so
each page read is audited, like :func:`caseline.ingest.list_problems`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from caseline.db.models import IngestRun, QuarantinedRow, RecordValueIssue
from caseline.errors import InputError, NotFoundError
from caseline.oversight import Actor, IngestRunProblemsRead, Permission, authorize, permit

MAX_PROBLEMS_PAGE = 500
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
MASK = "…"


def masked_reason(reason: str) -> str:
    """A reason with the values it quotes (and any ISO day it names) masked: what kind of
    problem it is, without the value, which may be personal data."""
    return _DAY.sub(MASK, _QUOTED.sub(f"'{MASK}'", reason))


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives stored moments back without their zone: they were stored in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class ValueIssueCount:
    """How many values of one field a file's rows left out for one kind of reason."""

    field: str
    reason: str  # masked: see masked_reason
    count: int


@dataclass(frozen=True, slots=True)
class IngestRunSummary:
    """One file loaded once: where it came from, what became of its rows, how fast."""

    run_id: int
    source: str
    file_name: str  # the file's name; ``path`` is where it was read from
    path: str
    sha256: str
    started_at: dt.datetime
    finished_at: dt.datetime | None  # None: the load did not finish
    loaded: int
    quarantined: int
    value_issues: int
    issues_by_reason: tuple[ValueIssueCount, ...]

    @property
    def rows(self) -> int:
        return self.loaded + self.quarantined

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return max(0.0, (self.finished_at - self.started_at).total_seconds())

    @property
    def rows_per_second(self) -> float | None:
        """Rows read (loaded or quarantined) per second; None when no time was measured."""
        seconds = self.seconds
        return self.rows / seconds if seconds else None

    def as_dict(self) -> dict[str, Any]:
        """The run as JSON-ready values: what the API and ``caseline runs --json`` print."""
        seconds, pace = self.seconds, self.rows_per_second
        return {
            "run_id": self.run_id,
            "source": self.source,
            "file_name": self.file_name,
            "path": self.path,
            "sha256": self.sha256,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "seconds": None if seconds is None else round(seconds, 3),
            "rows_per_second": None if pace is None else round(pace, 1),
            "loaded": self.loaded,
            "quarantined": self.quarantined,
            "value_issues": self.value_issues,
            "issues_by_reason": [
                {"field": i.field, "reason": i.reason, "count": i.count}
                for i in self.issues_by_reason
            ],
        }


@dataclass(frozen=True, slots=True)
class RunProblem:
    """A row quarantined, or a value left out of a loaded record, as written."""

    line: int
    field: str  # "*": the whole row
    reason: str
    quarantined: bool  # True: the row was not loaded; False: only the value was left out
    text: str  # the raw row (quarantined) or the value (left out)


@dataclass(frozen=True, slots=True)
class RunProblems:
    """A page of one file's problems, by line."""

    run: IngestRunSummary
    offset: int
    limit: int
    total: int  # every problem of the file that the store still holds
    problems: tuple[RunProblem, ...]

    @property
    def next_offset(self) -> int | None:
        after = self.offset + len(self.problems)
        return after if after < self.total else None

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset else None


def _summaries(session: Session, runs: list[IngestRun]) -> list[IngestRunSummary]:
    by_run: dict[int, Counter[tuple[str, str]]] = {run.id: Counter() for run in runs}
    if runs:
        grouped = session.execute(
            select(
                RecordValueIssue.ingest_run_id,
                RecordValueIssue.field,
                RecordValueIssue.reason,
                func.count(),
            )
            .where(RecordValueIssue.ingest_run_id.in_(list(by_run)))
            .group_by(
                RecordValueIssue.ingest_run_id, RecordValueIssue.field, RecordValueIssue.reason
            )
        )
        for run_id, field, reason, count in grouped:
            by_run[run_id][field, masked_reason(reason)] += count
    return [
        IngestRunSummary(
            run_id=run.id,
            source=run.source,
            file_name=PurePath(run.file_name).name,
            path=run.file_name,
            sha256=run.file_sha256,
            started_at=_utc(run.started_at) or run.started_at,
            finished_at=_utc(run.finished_at),
            loaded=run.loaded,
            quarantined=run.quarantined,
            value_issues=run.value_issues,
            issues_by_reason=tuple(
                ValueIssueCount(field, reason, count)
                for (field, reason), count in sorted(
                    by_run[run.id].items(), key=lambda item: (-item[1], item[0])
                )
            ),
        )
        for run in runs
    ]


def list_ingest_runs(session: Session, *, actor: Actor) -> list[IngestRunSummary]:
    """Every file ingested, newest first, with its counts, duration, rows per second and its
    values left out counted by field and (masked) reason. Holds no row or value: not
    audited."""
    authorize(actor, Permission.READ_RUNS)
    runs = list(session.scalars(select(IngestRun).order_by(IngestRun.id.desc())))
    return _summaries(session, runs)


def run_problems(
    session: Session, run_id: int, *, actor: Actor, offset: int = 0, limit: int = 50
) -> RunProblems:
    """One file's quarantined rows and values left out, by line, ``limit`` (1 to
    :data:`MAX_PROBLEMS_PAGE`) from ``offset``; audited, with the page read: raw rows and values may
    hold personal data and identifiers."""
    allowed = permit(actor, IngestRunProblemsRead)
    if offset < 0:
        raise InputError(f"{offset} is below 0", where="offset")
    if not 1 <= limit <= MAX_PROBLEMS_PAGE:
        raise InputError(f"{limit} is not between 1 and {MAX_PROBLEMS_PAGE}", where="limit")
    run = session.get(IngestRun, run_id)
    if run is None:
        raise NotFoundError(f"no ingest run {run_id}")
    quarantined = select(
        QuarantinedRow.line_number.label("line"),
        func.coalesce(QuarantinedRow.field, "*").label("field"),
        QuarantinedRow.reason.label("reason"),
        literal(True).label("quarantined"),
        QuarantinedRow.raw.label("text"),
        QuarantinedRow.id.label("id"),
    ).where(QuarantinedRow.ingest_run_id == run_id)
    left_out = select(
        RecordValueIssue.line_number,
        RecordValueIssue.field,
        RecordValueIssue.reason,
        literal(False),
        RecordValueIssue.value,
        RecordValueIssue.id,
    ).where(RecordValueIssue.ingest_run_id == run_id)
    both = union_all(quarantined, left_out).subquery()
    total = session.scalar(select(func.count()).select_from(both)) or 0
    rows = session.execute(
        select(both.c.line, both.c.field, both.c.reason, both.c.quarantined, both.c.text)
        .order_by(both.c.line, both.c.quarantined.desc(), both.c.field, both.c.id)
        .offset(offset)
        .limit(limit)
    )
    problems = tuple(
        RunProblem(line, field, reason, bool(flag), text)
        for line, field, reason, flag, text in rows
    )
    (summary,) = _summaries(session, [run])
    allowed.record(
        session,
        IngestRunProblemsRead(
            run_id=run.id, file=summary.file_name, offset=offset, shown=len(problems)
        ),
    )
    return RunProblems(summary, offset, limit, total, problems)
