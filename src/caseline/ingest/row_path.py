"""Loading a file row by row: each row through its adapter's ``to_record``.

The path for an adapter that has no column program (one written outside Caseline), and the
reference the column path is held to (tests compare the two on the same files).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from sqlalchemy import String, Table, insert
from sqlalchemy.orm import Session

from caseline.db.models import QuarantinedRow, RecordValueIssue, SourceRecord
from caseline.ingest.bulk import write_source_records
from caseline.ingest.identifiers import HASHED, stored_identifier, typo_key_text
from caseline.ingest.outcome import LoadCounts
from caseline.ingest.readers import FIELD_LIMIT, SourceRow, read_rows
from caseline.sources import (
    CanonicalRecord,
    FieldError,
    Row,
    SourceAdapter,
    ValueIssue,
    record_id_for,
)

KEY_LENGTH = 256
_BATCH = 5_000


def load_rows(
    session: Session,
    run_id: int,
    adapter: SourceAdapter,
    path: Path,
    *,
    encoding: str,
    identifier_key: bytes,
    known_keys: set[str],
    progress: Callable[[int], None] | None,
) -> LoadCounts:
    """Load every row of ``path`` through ``adapter.to_record``; progress counts data rows."""
    batch = _Batch(session, run_id, identifier_key)
    rows = 0
    for source_row in read_rows(path, adapter.columns, encoding):
        rows += 1
        try:
            record = to_record(adapter, source_row)
            if record.source_key in known_keys:
                raise FieldError(adapter.key_column, f"duplicate source key {record.source_key!r}")
        except FieldError as exc:
            batch.quarantine(source_row, exc)
            continue
        known_keys.add(record.source_key)
        batch.add(record, source_row.line)
        if progress is not None:
            progress(rows)
    batch.flush()
    return batch.counts


class _Batch:
    """Rows waiting to be inserted, written a few thousand at a time."""

    def __init__(self, session: Session, run_id: int, identifier_key: bytes) -> None:
        self.session = session
        self.run_id = run_id
        self.identifier_key = identifier_key
        self.records: list[dict[str, Any]] = []
        self.value_issues: list[dict[str, Any]] = []
        self.quarantined_rows: list[dict[str, Any]] = []
        self.counts = LoadCounts()

    def add(self, record: CanonicalRecord, line: int) -> None:
        stored = stored_record(record, self.run_id, line, self.identifier_key)
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
        self.counts.load(line, ((i.field, i.reason) for i in record.issues))
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
        self.counts.quarantine(row.line, error.field_name, error.reason)
        if len(self.quarantined_rows) >= _BATCH:
            self.flush()

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


def to_record(adapter: SourceAdapter, source_row: SourceRow) -> CanonicalRecord:
    """The row's record, its issues with it; FieldError for a row that cannot be one."""
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
    if len(key) > KEY_LENGTH:
        raise FieldError(adapter.key_column, f"source key is longer than {KEY_LENGTH} characters")
    row = Row(values)
    record = adapter.to_record(row)
    record = _without_oversized(record)
    issues = (*row.issues, *record.issues)
    return dataclasses.replace(record, issues=issues) if issues != record.issues else record


TEXT_LIMITS: dict[str, int] = {
    column.name: column.type.length
    for column in SourceRecord.__table__.columns
    if isinstance(column.type, String) and column.type.length
}
# The record's text fields that have a column length, in the order their issues are kept.
RECORD_TEXT_LIMITS = [
    (name, TEXT_LIMITS[name])
    for name in sorted(TEXT_LIMITS.keys() & CanonicalRecord.__dataclass_fields__.keys())
]


def _without_oversized(record: CanonicalRecord) -> CanonicalRecord:
    """A value longer than its column is left out with an issue, never cut or refused."""
    too_long = [
        (name, limit)
        for name, limit in RECORD_TEXT_LIMITS
        if (value := getattr(record, name)) is not None and len(value) > limit
    ]
    if not too_long:
        return record
    if any(name == "source_key" for name, _ in too_long):
        raise FieldError("source_key", f"longer than {TEXT_LIMITS['source_key']} characters")
    issues = [
        *record.issues,
        *(
            ValueIssue(name, f"longer than {limit} characters", getattr(record, name))
            for name, limit in too_long
        ),
    ]
    cleared: dict[str, Any] = dict.fromkeys(name for name, _ in too_long)
    return dataclasses.replace(record, **cleared, issues=tuple(issues))


def stored_record(
    record: CanonicalRecord, run_id: int, line_number: int, key: bytes
) -> dict[str, Any]:
    """The record as its source_records row: identifiers hashed, provenance added."""
    # A shallow copy: dataclasses.asdict would deep-copy every value of every row.
    values = {name: getattr(record, name) for name in _PLAIN_FIELDS}
    typo_parts = []
    for kind, column in HASHED.items():
        values[column], part = stored_identifier(kind, getattr(record, kind), key)
        typo_parts.append(part)
    values["identifier_typo_keys"] = typo_key_text(typo_parts)
    values.update(
        record_id=record_id_for(record.source, record.source_key),
        ingest_run_id=run_id,
        line_number=line_number,
    )
    return values


_PLAIN_FIELDS = [
    name for name in CanonicalRecord.__dataclass_fields__ if name not in ("issues", *HASHED)
]
