"""Load one source file in one transaction: all of it (good rows and quarantine) or nothing."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import String, insert, select
from sqlalchemy.orm import Session

from caseline.db.models import IngestRun, QuarantinedRow, SourceRecord
from caseline.errors import InputError
from caseline.oversight import Actor, AuditEntry, record_event
from caseline.sources import CanonicalRecord, FieldError, SourceAdapter, adapter_for, record_id_for
from caseline.standardise import keyed_hash

ProgressCallback = Callable[[int], None]
_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class IngestSummary:
    source: str
    file_name: str
    loaded: int
    quarantined: int
    already_ingested: bool


def ingest_file(
    session: Session,
    path: Path,
    source: str,
    *,
    identifier_key: bytes,
    actor: Actor,
    progress: ProgressCallback | None = None,
) -> IngestSummary:
    """Ingest ``path`` as ``source`` inside the caller's transaction.

    A file already ingested (same source, same sha256) changes nothing. A row that cannot
    be used goes to quarantine with its line, field and reason; the rows around it load.
    """
    adapter = adapter_for(source)
    if not path.is_file():
        raise InputError("no such file", where=str(path))
    digest = _sha256(path)
    existing = session.scalar(
        select(IngestRun).where(IngestRun.source == source, IngestRun.file_sha256 == digest)
    )
    if existing is not None:
        return IngestSummary(source, path.name, 0, 0, already_ingested=True)

    run = IngestRun(source=source, file_name=str(path), file_sha256=digest)
    session.add(run)
    session.flush()
    known_keys = set(
        session.scalars(select(SourceRecord.source_key).where(SourceRecord.source == source))
    )
    records: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    loaded = 0
    for line_number, row, raw in _rows(path, adapter):
        try:
            record = _to_record(adapter, row)
            if record.source_key in known_keys:
                raise FieldError(adapter.key_column, f"duplicate source key {record.source_key!r}")
        except FieldError as exc:
            quarantine.append(
                {
                    "ingest_run_id": run.id,
                    "line_number": line_number,
                    "field": exc.field_name,
                    "reason": exc.reason,
                    "raw": raw,
                }
            )
            continue
        known_keys.add(record.source_key)
        loaded += 1
        records.append(_stored(record, run.id, line_number, identifier_key))
        if len(records) >= _BATCH:
            session.execute(insert(SourceRecord), records)
            records.clear()
        if progress is not None:
            progress(line_number)
    if records:
        session.execute(insert(SourceRecord), records)
    if quarantine:
        session.execute(insert(QuarantinedRow), quarantine)
    run.loaded = loaded
    run.quarantined = len(quarantine)
    run.finished_at = dt.datetime.now(dt.UTC)
    record_event(
        session,
        AuditEntry(
            actor=actor.username,
            role=actor.role,
            action="ingest",
            object_type="ingest_run",
            object_id=str(run.id),
            details={
                "source": source,
                "file": path.name,
                "sha256": digest,
                "loaded": loaded,
                "quarantined": len(quarantine),
            },
        ),
    )
    return IngestSummary(source, path.name, run.loaded, run.quarantined, already_ingested=False)


def _rows(path: Path, adapter: SourceAdapter) -> Iterator[tuple[int, dict[str, str] | None, str]]:
    """Yield (first line, row or None if misshapen, raw text) for each non-blank data row.

    Refuses, naming the line, a file without the source's columns, a file that is not UTF-8
    text, or CSV that cannot be parsed: the whole file then loads nothing.
    """
    csv.field_size_limit(_FIELD_LIMIT * 16)  # read over-long fields, then quarantine their rows
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in _next_fields(reader, path) or []]
        missing = [c for c in adapter.columns if c not in header]
        if missing:
            raise InputError(f"missing columns: {', '.join(missing)}", where=f"{path}:1")
        while True:
            first_line = reader.line_num + 1
            fields = _next_fields(reader, path)
            if fields is None:
                return
            if not any(f.strip() for f in fields):
                continue  # a blank line is not a record
            raw = _as_csv_line(fields)
            if len(fields) != len(header):
                yield first_line, None, raw
            else:
                yield first_line, dict(zip(header, fields, strict=True)), raw


def _next_fields(reader: Any, path: Path) -> list[str] | None:
    try:
        fields: list[str] = next(reader)
    except StopIteration:
        return None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text ({exc.reason})", where=f"{path}:{reader.line_num + 1}"
        ) from None
    except csv.Error as exc:
        raise InputError(f"unreadable CSV ({exc})", where=f"{path}:{reader.line_num}") from None
    return fields


def _as_csv_line(fields: list[str]) -> str:
    """The row as CSV text for quarantine: NUL shown as \\x00 (no database stores it), and
    a huge row cut to its first 64 KiB, saying so."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    text = buffer.getvalue().replace("\x00", "\\x00")
    if len(text) > _RAW_LIMIT:
        text = f"{text[:_RAW_LIMIT]}... ({len(text) - _RAW_LIMIT:,} more characters not kept)"
    return text


def _to_record(adapter: SourceAdapter, row: dict[str, str] | None) -> CanonicalRecord:
    if row is None:
        raise FieldError("*", "row has a different number of fields than the header")
    for column, value in row.items():
        if "\x00" in value:
            raise FieldError(column, "contains a NUL character")
        if len(value) > _FIELD_LIMIT:
            raise FieldError(column, f"longer than {_FIELD_LIMIT:,} characters")
    key = row.get(adapter.key_column, "").strip()
    if not key:
        raise FieldError(adapter.key_column, "source key is empty")
    if len(key) > _KEY_LENGTH:
        raise FieldError(adapter.key_column, f"source key is longer than {_KEY_LENGTH} characters")
    record = adapter.to_record(row)
    _check_fits(record)
    return record


_KEY_LENGTH = 256
_FIELD_LIMIT = 10_000
_RAW_LIMIT = 65_536
_TEXT_LIMITS: dict[str, int] = {
    column.name: column.type.length
    for column in SourceRecord.__table__.columns
    if isinstance(column.type, String) and column.type.length
}


def _check_fits(record: CanonicalRecord) -> None:
    """Refuse a value longer than its column, rather than let the database cut or refuse it."""
    for name in _TEXT_LIMITS.keys() & CanonicalRecord.__dataclass_fields__.keys():
        value = getattr(record, name)
        if isinstance(value, str) and len(value) > _TEXT_LIMITS[name]:
            raise FieldError(name, f"longer than {_TEXT_LIMITS[name]} characters")


def _stored(record: CanonicalRecord, run_id: int, line_number: int, key: bytes) -> dict[str, Any]:
    values = dataclasses.asdict(record)
    for kind, column in _HASHED.items():
        raw = values.pop(kind)
        values[column] = keyed_hash(kind, raw, key) if raw else None
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
}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
