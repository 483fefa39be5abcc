"""Load one source file in one transaction: all of it (records, quarantine, issues) or nothing."""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from caseline.db.models import IngestRun, SourceRecord
from caseline.errors import InputError
from caseline.ingest.column_path import load_columns
from caseline.ingest.outcome import EXAMPLES, LoadCounts, Problem
from caseline.ingest.programs import program_for
from caseline.ingest.row_path import load_rows
from caseline.oversight import Actor, FileIngested, permit
from caseline.sources import SourceAdapter, adapter_for

ProgressCallback = Callable[[int], None]  # called with the data rows read so far

__all__ = ["EXAMPLES", "IngestSummary", "Problem", "ProgressCallback", "ingest_file"]


@dataclass(frozen=True, slots=True)
class IngestSummary:
    source: str
    file_name: str
    loaded: int
    quarantined: int
    already_ingested: bool
    value_issues: int = 0
    examples: tuple[Problem, ...] = ()  # the first few problems, to show where and why


def ingest_file(
    session: Session,
    path: Path,
    source: str | SourceAdapter,
    *,
    identifier_key: bytes,
    actor: Actor,
    encoding: str = "utf-8-sig",
    progress: ProgressCallback | None = None,
    row_by_row: bool = False,
) -> IngestSummary:
    """Ingest ``path`` as ``source`` (a source name or an adapter) in the caller's transaction.

    A file already ingested (same source, same sha256) changes nothing. A row that cannot be
    a record goes to quarantine with its line, field and reason; the rows around it load. A
    value that does not parse is left out of its record and kept as an issue with the reason.
    Rows are standardised a block of columns at a time when the source has a column program
    (every built-in and mapped source does); ``row_by_row`` loads through the adapter's
    ``to_record`` instead, as an adapter without a program always is. ``progress`` is called
    with the number of data rows read so far.
    """
    allowed = permit(actor, FileIngested)
    adapter = adapter_for(source) if isinstance(source, str) else source
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}", where="--encoding") from None
    if not path.is_file():
        raise InputError("no such file", where=str(path))
    digest = _sha256(path)
    _one_ingest_per_source(session, adapter.name)
    existing = session.scalar(
        select(IngestRun).where(IngestRun.source == adapter.name, IngestRun.file_sha256 == digest)
    )
    if existing is not None:
        return IngestSummary(adapter.name, path.name, 0, 0, already_ingested=True)

    run = IngestRun(source=adapter.name, file_name=str(path), file_sha256=digest)
    session.add(run)
    session.flush()
    known_keys = set(
        session.scalars(select(SourceRecord.source_key).where(SourceRecord.source == adapter.name))
    )
    program = None if row_by_row else program_for(adapter)
    options = {
        "encoding": encoding,
        "identifier_key": identifier_key,
        "known_keys": known_keys,
        "progress": progress,
    }
    counts: LoadCounts
    if program is None:
        counts = load_rows(session, run.id, adapter, path, **options)  # type: ignore[arg-type]
    else:
        counts = load_columns(session, run.id, adapter, program, path, **options)  # type: ignore[arg-type]
    run.loaded, run.quarantined, run.value_issues = counts.loaded, counts.quarantined, counts.issues
    run.finished_at = dt.datetime.now(dt.UTC)
    allowed.record(
        session,
        FileIngested(
            run_id=run.id,
            source=adapter.name,
            file=path.name,
            sha256=digest,
            loaded=counts.loaded,
            quarantined=counts.quarantined,
            value_issues=counts.issues,
        ),
    )
    return IngestSummary(
        adapter.name,
        path.name,
        counts.loaded,
        counts.quarantined,
        False,
        counts.issues,
        counts.first_examples(),
    )


def _one_ingest_per_source(session: Session, source: str) -> None:
    """On PostgreSQL, ingests of one source wait for each other until the first commits, so
    a second ingest of the same file finds it ingested, and two files cannot both load one
    record key (SQLite takes the write lock for the whole ingest anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"caseline-ingest:{source}"},
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
