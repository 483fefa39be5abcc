"""The runs: every ingest run with its counts and pace, one file's problems a page at a time
(raw rows: audited), and every resolution run with the figures evaluated after it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from caseline.api.deps import Authorized, DatabaseDep
from caseline.ingest import MAX_PROBLEMS_PAGE, list_ingest_runs, run_problems
from caseline.oversight import Actor, Permission
from caseline.resolve import list_resolution_runs

router = APIRouter(tags=["runs"])
RunReader = Annotated[Actor, Authorized(Permission.READ_RUNS)]
ProblemReader = Annotated[Actor, Authorized(Permission.READ_INGEST_PROBLEMS)]


class ValueIssueCountOut(BaseModel):
    field: str
    reason: str  # the values it quotes masked
    count: int


class IngestRunOut(BaseModel):
    run_id: int
    source: str
    file_name: str
    path: str
    sha256: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    seconds: float | None
    rows_per_second: float | None  # rows read (loaded or quarantined) per second
    loaded: int
    quarantined: int
    value_issues: int
    issues_by_reason: list[ValueIssueCountOut]


class ProblemOut(BaseModel):
    line: int
    field: str  # "*": the whole row
    reason: str
    quarantined: bool  # True: the row was not loaded; False: the value was left out
    text: str  # the row as written, or the value


class ProblemsPageOut(BaseModel):
    run: IngestRunOut
    offset: int
    limit: int
    total: int
    next_offset: int | None
    problems: list[ProblemOut]


class GroupAccuracyOut(BaseModel):
    group: str
    precision: float | None
    recall: float | None
    f1: float | None
    bcubed_f1: float | None
    records: int


class AccuracyOut(BaseModel):
    event: int  # the audit event that holds the figures
    evaluated_at: dt.datetime
    truth: str
    groups: list[GroupAccuracyOut]


class AddressAccuracyOut(BaseModel):
    event: int
    evaluated_at: dt.datetime
    as_of: str
    persons: int
    top1_accuracy: float | None
    most_recent_top1: float | None


class ResolutionRunOut(BaseModel):
    run_id: int
    engine: str
    model_file: str
    model_path: str
    threshold: float
    records: int
    persons: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    seconds: float | None
    incremental: bool
    f1: float | None  # overall, from the last evaluation after the run
    accuracy: AccuracyOut | None
    address_top1: float | None
    addresses: AddressAccuracyOut | None


@router.get("/ingest-runs", response_model=list[IngestRunOut])
def ingest_runs(database: DatabaseDep, actor: RunReader) -> list[IngestRunOut]:
    """Every file ingested, newest first: counts, duration, rows per second, and the values
    left out counted by field and reason (the values they quote masked)."""
    with database.transaction() as session:
        runs = list_ingest_runs(session, actor=actor)
    return [IngestRunOut.model_validate(run.as_dict()) for run in runs]


@router.get("/ingest-runs/{run_id}/problems", response_model=ProblemsPageOut)
def ingest_run_problems(
    run_id: int,
    database: DatabaseDep,
    actor: ProblemReader,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Skip this many")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PROBLEMS_PAGE, description="At most")] = 50,
) -> ProblemsPageOut:
    """One file's quarantined rows and values left out, by line, a page at a time. Raw
    rows may hold personal data: each page read is audited (`read_ingest_run_problems`)."""
    with database.transaction() as session:
        page = run_problems(session, run_id, actor=actor, offset=offset, limit=limit)
    return ProblemsPageOut(
        run=IngestRunOut.model_validate(page.run.as_dict()),
        offset=page.offset,
        limit=page.limit,
        total=page.total,
        next_offset=page.next_offset,
        problems=[ProblemOut.model_validate(p, from_attributes=True) for p in page.problems],
    )


@router.get("/resolution-runs", response_model=list[ResolutionRunOut])
def resolution_runs(database: DatabaseDep, actor: RunReader) -> list[ResolutionRunOut]:
    """Every resolution run, newest first: engine, model file, threshold, records, persons,
    duration, whether incremental, and the last figures evaluated after it (F1 overall and
    per naming group, address top-1) before the next run."""
    with database.transaction() as session:
        runs = list_resolution_runs(session, actor=actor)
    return [ResolutionRunOut.model_validate(run.as_dict()) for run in runs]
