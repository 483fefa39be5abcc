"""Load one source file in one transaction: all of it (good rows and quarantine) or nothing."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from caseline.db.models import IngestRun, QuarantinedRow, SourceRecord
from caseline.errors import InputError
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
    return IngestSummary(source, path.name, run.loaded, run.quarantined, already_ingested=False)


def _rows(path: Path, adapter: SourceAdapter) -> Iterator[tuple[int, dict[str, str], str]]:
    """Yield (line number, row, raw text) for each data row; refuse a file without the columns."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in adapter.columns if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"missing columns: {', '.join(missing)}", where=f"{path}:1")
        for row in reader:
            extra = row.pop(None, None)  # type: ignore[call-overload,unused-ignore]
            raw = ",".join(v or "" for v in row.values())
            if extra is not None or any(v is None for v in row.values()):
                yield reader.line_num, {"__shape__": "bad"}, raw
                continue
            yield reader.line_num, row, raw


def _to_record(adapter: SourceAdapter, row: dict[str, str]) -> CanonicalRecord:
    if "__shape__" in row:
        raise FieldError("*", "row has a different number of fields than the header")
    if not (row.get(adapter.key_column) or "").strip():
        raise FieldError(adapter.key_column, "source key is empty")
    return adapter.to_record(row)


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
