"""What ingest could not use: quarantined rows and values left out, for a data engineer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import IngestRun, QuarantinedRow, RecordValueIssue
from caseline.oversight import Actor, IngestProblemsRead, permit

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
    allowed = permit(actor, IngestProblemsRead)
    limit = max(1, min(limit, MAX_PROBLEMS))
    problems = [
        StoredProblem(file_name, line, field or "*", reason, quarantined, text)
        for table, text_column, quarantined in (
            (QuarantinedRow, QuarantinedRow.raw, True),
            (RecordValueIssue, RecordValueIssue.value, False),
        )
        for file_name, line, field, reason, text in session.execute(
            select(IngestRun.file_name, table.line_number, table.field, table.reason, text_column)
            .join(IngestRun, IngestRun.id == table.ingest_run_id)
            .where(IngestRun.file_name.contains(file_contains or "", autoescape=True))
            .order_by(IngestRun.id.desc(), table.line_number, table.id)
            .limit(limit)
        )
    ]
    problems.sort(key=lambda p: (p.file_name, p.line))
    allowed.record(
        session, IngestProblemsRead(file_contains=file_contains, shown=len(problems[:limit]))
    )
    return problems[:limit]
