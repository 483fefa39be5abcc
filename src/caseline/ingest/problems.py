"""What ingest could not use: quarantined rows and values left out, for a data engineer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import IngestRun, QuarantinedRow, RecordValueIssue
from caseline.oversight import Actor, AuditEntry, record_event

MAX_PROBLEMS = 1000


@dataclass(frozen=True, slots=True)
class StoredProblem:
    file_name: str
    line: int
    field: str
    reason: str
    quarantined: bool  # True: the row was not loaded; False: the value was left out
    text: str  # the raw row (quarantined) or the value (left out)


def list_problems(
    session: Session, *, actor: Actor, file_contains: str | None = None, limit: int = 50
) -> list[StoredProblem]:
    """The problems of the ingested files, by file and line (the newest runs are searched
    first when there are more than ``limit``), audited: raw rows may hold
    personal data and identifiers."""
    limit = max(1, min(limit, MAX_PROBLEMS))
    rows = session.execute(
        select(IngestRun.file_name, QuarantinedRow.line_number, QuarantinedRow.field,
               QuarantinedRow.reason, QuarantinedRow.raw)
        .join(IngestRun, IngestRun.id == QuarantinedRow.ingest_run_id)
        .where(IngestRun.file_name.contains(file_contains or "", autoescape=True))
        .order_by(IngestRun.id.desc(), QuarantinedRow.line_number)
        .limit(limit)
    ).all()  # fmt: skip
    issues = session.execute(
        select(IngestRun.file_name, RecordValueIssue.line_number, RecordValueIssue.field,
               RecordValueIssue.reason, RecordValueIssue.value)
        .join(IngestRun, IngestRun.id == RecordValueIssue.ingest_run_id)
        .where(IngestRun.file_name.contains(file_contains or "", autoescape=True))
        .order_by(IngestRun.id.desc(), RecordValueIssue.line_number)
        .limit(limit)
    ).all()  # fmt: skip
    problems = [
        StoredProblem(f, line, field or "*", reason, True, raw)
        for f, line, field, reason, raw in rows
    ]
    problems += [
        StoredProblem(f, line, field, reason, False, value)
        for f, line, field, reason, value in issues
    ]
    problems.sort(key=lambda p: (p.file_name, p.line))
    record_event(session, AuditEntry.by(
        actor, "read_ingest_problems", "ingest_run",
        details={"file_contains": file_contains, "shown": len(problems[:limit])},
    ))  # fmt: skip
    return problems[:limit]
