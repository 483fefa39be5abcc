"""Load one source file in one transaction: all of it (records, quarantine, issues) or nothing."""

from __future__ import annotations

import codecs
import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import String, Table, insert, select
from sqlalchemy.orm import Session

from caseline.db.models import IngestRun, QuarantinedRow, RecordValueIssue, SourceRecord
from caseline.errors import InputError
from caseline.ingest.bulk import write_source_records
from caseline.ingest.readers import FIELD_LIMIT, SourceRow, read_rows
from caseline.oversight import Actor, FileIngested, permit
from caseline.sources import (
    CanonicalRecord,
    FieldError,
    Row,
    SourceAdapter,
    ValueIssue,
    adapter_for,
    record_id_for,
)
from caseline.standardise import keyed_hash, stored_match_keys

ProgressCallback = Callable[[int], None]
_BATCH = 5_000
_KEY_LENGTH = 256


@dataclass(frozen=True, slots=True)
class IngestSummary:
    source: str
    file_name: str
    loaded: int
    quarantined: int
    already_ingested: bool
    value_issues: int = 0
    examples: tuple[Problem, ...] = ()  # the first few problems, to show where and why


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    field: str
    reason: str
    quarantined: bool  # True: the row was not loaded; False: the value was left out

    def __str__(self) -> str:
        outcome = "row quarantined" if self.quarantined else "value left out"
        return f"line {self.line}, {self.field}: {self.reason} ({outcome})"


EXAMPLES = 5


def ingest_file(
    session: Session,
    path: Path,
    source: str | SourceAdapter,
    *,
    identifier_key: bytes,
    actor: Actor,
    encoding: str = "utf-8-sig",
    progress: ProgressCallback | None = None,
) -> IngestSummary:
    """Ingest ``path`` as ``source`` (a source name or an adapter) in the caller's transaction.

    A file already ingested (same source, same sha256) changes nothing. A row that cannot be
    a record goes to quarantine with its line, field and reason; the rows around it load. A
    value that does not parse is left out of its record and kept as an issue with the reason.
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
    existing = session.scalar(
        select(IngestRun).where(IngestRun.source == adapter.name, IngestRun.file_sha256 == digest)
    )
    if existing is not None:
        return IngestSummary(adapter.name, path.name, 0, 0, already_ingested=True)

    run = IngestRun(source=adapter.name, file_name=str(path), file_sha256=digest)
    session.add(run)
    session.flush()
    batch = _Batch(session, run.id, identifier_key)
    known_keys = set(
        session.scalars(select(SourceRecord.source_key).where(SourceRecord.source == adapter.name))
    )
    for source_row in read_rows(path, adapter.columns, encoding):
        try:
            record = _to_record(adapter, source_row)
            if record.source_key in known_keys:
                raise FieldError(adapter.key_column, f"duplicate source key {record.source_key!r}")
        except FieldError as exc:
            batch.quarantine(source_row, exc)
            continue
        known_keys.add(record.source_key)
        batch.add(record, source_row.line)
        if progress is not None:
            progress(source_row.line)
    batch.flush()
    run.loaded, run.quarantined, run.value_issues = batch.loaded, batch.quarantined, batch.issues
    run.finished_at = dt.datetime.now(dt.UTC)
    allowed.record(
        session,
        FileIngested(
            run_id=run.id,
            source=adapter.name,
            file=path.name,
            sha256=digest,
            loaded=batch.loaded,
            quarantined=batch.quarantined,
            value_issues=batch.issues,
        ),
    )
    return IngestSummary(
        adapter.name,
        path.name,
        batch.loaded,
        batch.quarantined,
        False,
        batch.issues,
        tuple(sorted(batch.examples, key=lambda p: p.line)[:EXAMPLES]),
    )


class _Batch:
    """Rows waiting to be inserted, written a few thousand at a time."""

    def __init__(self, session: Session, run_id: int, identifier_key: bytes) -> None:
        self.session = session
        self.run_id = run_id
        self.identifier_key = identifier_key
        self.records: list[dict[str, Any]] = []
        self.value_issues: list[dict[str, Any]] = []
        self.quarantined_rows: list[dict[str, Any]] = []
        self.loaded = self.quarantined = self.issues = 0
        self.examples: list[Problem] = []

    def add(self, record: CanonicalRecord, line: int) -> None:
        stored = _stored(record, self.run_id, line, self.identifier_key)
        self.records.append(stored)
        for issue in record.issues:
            self.value_issues.append(
                {
                    "ingest_run_id": self.run_id,
                    "record_id": stored["record_id"],
                    "line_number": line,
                    "field": issue.field,
                    "reason": issue.reason,
                    "value": issue.value[:1000].replace("\x00", "\\x00"),
                }
            )
        self.loaded += 1
        self.issues += len(record.issues)
        if record.issues and len(self.examples) < EXAMPLES:
            self.examples += [Problem(line, i.field, i.reason, False) for i in record.issues]
        if len(self.records) >= _BATCH:
            self.flush()

    def quarantine(self, row: SourceRow, error: FieldError) -> None:
        self.quarantined_rows.append(
            {
                "ingest_run_id": self.run_id,
                "line_number": row.line,
                "field": error.field_name,
                "reason": error.reason,
                "raw": row.quarantine_text(),
            }
        )
        self.quarantined += 1
        if len(self.quarantined_rows) >= _BATCH:
            self.flush()
        if len(self.examples) < EXAMPLES:
            self.examples.append(Problem(row.line, error.field_name, error.reason, True))

    def flush(self) -> None:
        write_source_records(self.session, self.records)
        self.records.clear()
        for model, rows in (
            (RecordValueIssue, self.value_issues),
            (QuarantinedRow, self.quarantined_rows),
        ):
            if rows:
                # A Core insert of the table: the ORM's bulk path costs more than the database.
                self.session.execute(insert(cast(Table, model.__table__)), rows)
                rows.clear()


def _to_record(adapter: SourceAdapter, source_row: SourceRow) -> CanonicalRecord:
    values = source_row.values
    if values is None:
        raise FieldError("*", source_row.problem or "the row cannot be read")
    for column, value in values.items():
        if "\x00" in value:
            raise FieldError(column, "contains a NUL character")
        if len(value) > FIELD_LIMIT:
            raise FieldError(column, f"longer than {FIELD_LIMIT:,} characters")
    key = adapter.source_key(values)
    if not key:
        raise FieldError(adapter.key_column, "source key is empty")
    if len(key) > _KEY_LENGTH:
        raise FieldError(adapter.key_column, f"source key is longer than {_KEY_LENGTH} characters")
    row = Row(values)
    record = adapter.to_record(row)
    record = _without_oversized(record)
    issues = (*row.issues, *record.issues)
    return dataclasses.replace(record, issues=issues) if issues != record.issues else record


_TEXT_LIMITS: dict[str, int] = {
    column.name: column.type.length
    for column in SourceRecord.__table__.columns
    if isinstance(column.type, String) and column.type.length
}
_RECORD_TEXT_LIMITS = [
    (name, _TEXT_LIMITS[name])
    for name in sorted(_TEXT_LIMITS.keys() & CanonicalRecord.__dataclass_fields__.keys())
]


def _without_oversized(record: CanonicalRecord) -> CanonicalRecord:
    """A value longer than its column is left out with an issue, never cut or refused."""
    too_long = [
        (name, limit)
        for name, limit in _RECORD_TEXT_LIMITS
        if (value := getattr(record, name)) is not None and len(value) > limit
    ]
    if not too_long:
        return record
    if any(name == "source_key" for name, _ in too_long):
        raise FieldError("source_key", f"longer than {_TEXT_LIMITS['source_key']} characters")
    issues = [
        *record.issues,
        *(
            ValueIssue(name, f"longer than {limit} characters", getattr(record, name))
            for name, limit in too_long
        ),
    ]
    cleared: dict[str, Any] = dict.fromkeys(name for name, _ in too_long)
    return dataclasses.replace(record, **cleared, issues=tuple(issues))


def _stored(record: CanonicalRecord, run_id: int, line_number: int, key: bytes) -> dict[str, Any]:
    # A shallow copy: dataclasses.asdict would deep-copy every value of every row.
    values = {name: getattr(record, name) for name in _PLAIN_FIELDS}
    typo_parts = []
    for kind, column in _HASHED.items():
        raw = getattr(record, kind)
        values[column] = keyed_hash(kind, raw, key) if raw else None
        if raw:
            typo_parts.append(f"{column.removesuffix('_hash')}:{stored_match_keys(kind, raw, key)}")
    values["identifier_typo_keys"] = ";".join(typo_parts) or None
    values.update(
        record_id=record_id_for(record.source, record.source_key),
        ingest_run_id=run_id,
        line_number=line_number,
    )
    return values


# Identifiers are stored only as keyed hashes: equal numbers match, the numbers stay unknown.
_HASHED = {
    "ssn": "ssn_hash",
    "itin": "itin_hash",
    "a_number": "a_number_hash",
    "passport_number": "passport_hash",
    "licence_number": "licence_hash",
    "other_id": "other_id_hash",
}


_HASHED_KINDS = tuple(_HASHED)
_PLAIN_FIELDS = [
    name for name in CanonicalRecord.__dataclass_fields__ if name not in ("issues", *_HASHED_KINDS)
]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
