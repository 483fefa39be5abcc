"""Loading a file a block of columns at a time: read, standardise, hash, bulk insert.

Each block goes through the same steps as a row through ``row_path``, in the same order, so
the records, value issues and quarantine are the same: rows that can never be records are
set apart by the reader; then the source key (empty, too long); then the source's column
program; then values too long for their column; then keys seen before. What is left is
hashed and written with the driver's bulk path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from caseline.db.models import QuarantinedRow, RecordValueIssue
from caseline.ingest.blocks import RowBlock
from caseline.ingest.bulk import DATE_COLUMNS, write_source_columns
from caseline.ingest.column_readers import read_blocks
from caseline.ingest.identifiers import HASHED, stored_identifier, typo_key_text
from caseline.ingest.outcome import EXAMPLES, LoadCounts
from caseline.ingest.programs import ColumnProgram, ColumnRecords
from caseline.ingest.row_path import KEY_LENGTH, RECORD_TEXT_LIMITS
from caseline.sources import CanonicalRecord, SourceAdapter, record_id_for
from caseline.sources.mapped import MappedSource
from caseline.standardise.columns import DistinctValues, spread

_RECORD_FIELDS = [
    name
    for name in CanonicalRecord.__dataclass_fields__
    if name not in ("issues", "extra", "source", "source_key", *HASHED)
]


def load_columns(
    session: Session,
    run_id: int,
    adapter: SourceAdapter,
    program: ColumnProgram,
    path: Path,
    *,
    encoding: str,
    identifier_key: bytes,
    known_keys: set[str],
    progress: Callable[[int], None] | None,
) -> LoadCounts:
    """Load ``path`` with ``program``; progress counts data rows, after each block."""
    counts = LoadCounts()
    loader = _BlockLoader(session, run_id, adapter, program, identifier_key, known_keys)
    rows = 0
    for block in read_blocks(path, adapter.columns, encoding):
        loader.load(block, counts)
        rows += block.rows_read
        if progress is not None:
            progress(rows)
    return counts


class _BlockLoader:
    def __init__(
        self,
        session: Session,
        run_id: int,
        adapter: SourceAdapter,
        program: ColumnProgram,
        identifier_key: bytes,
        known_keys: set[str],
    ) -> None:
        self.session = session
        self.run_id = run_id
        self.adapter = adapter
        self.program = program
        self.identifier_key = identifier_key
        self.known_keys = known_keys
        self.distinct: dict[Any, DistinctValues[Any]] = {}
        self.identifiers: dict[str, dict[str, tuple[str | None, str | None]]] = {
            kind: {} for kind in HASHED
        }

    def load(self, block: RowBlock, counts: LoadCounts) -> None:
        records = ColumnRecords(block, self.distinct)
        keys = self._keys(records)
        self.program(records)
        self._leave_out_oversized(records)
        self._refuse_seen_keys(records, keys)
        kept = [i for i in range(records.size) if i not in records.refused]
        record_ids = _record_ids(self.adapter.name, [keys[i] for i in kept])
        self._write_records(records, kept, keys, record_ids)
        self._write_problems(records, kept, record_ids, counts)

    def _keys(self, records: ColumnRecords) -> list[str]:
        """Each row's source key, as ``adapter.source_key`` makes it; refuses empty and
        over-long keys."""
        adapter = self.adapter
        if isinstance(adapter, MappedSource):
            parts = [
                spread(records.text(c), lambda v: (v or "").strip()) for c in adapter.mapping.key
            ]
            keys = ["|".join(p) if all(p) else "" for p in zip(*parts, strict=True)]
        else:
            keys = spread(records.text(adapter.key_column), lambda v: (v or "").strip())
        column = adapter.key_column
        records.refuse(
            (i for i, k in enumerate(keys) if not k), column, lambda _: "source key is empty"
        )
        records.refuse(
            (i for i, k in enumerate(keys) if len(k) > KEY_LENGTH),
            column,
            lambda _: f"source key is longer than {KEY_LENGTH} characters",
        )
        return keys

    def _leave_out_oversized(self, records: ColumnRecords) -> None:
        """A value longer than its column is left out with an issue, never cut or refused."""
        for name, limit in RECORD_TEXT_LIMITS:
            values = records.fields.get(name)
            if values is None:
                continue
            present = [v for v in values if v is not None]
            if not present or max(map(len, present)) <= limit:
                continue
            for i, value in enumerate(values):
                if value is not None and len(value) > limit and i not in records.refused:
                    records.issue(i, name, f"longer than {limit} characters", value)
                    values[i] = None

    def _refuse_seen_keys(self, records: ColumnRecords, keys: list[str]) -> None:
        seen = self.known_keys
        duplicates = []
        for i, key in enumerate(keys):
            if i in records.refused:
                continue
            if key in seen:
                duplicates.append(i)
            else:
                seen.add(key)
        records.refuse(
            duplicates, self.adapter.key_column, lambda i: f"duplicate source key {keys[i]!r}"
        )

    def _write_records(
        self, records: ColumnRecords, kept: list[int], keys: list[str], record_ids: list[str]
    ) -> None:
        if not kept:
            return
        every = len(kept) == records.size
        pick: Callable[[list[Any]], list[Any]] = (
            (lambda values: values) if every else (lambda values: [values[i] for i in kept])
        )
        columns: dict[str, list[Any]] = {}
        for name in _RECORD_FIELDS:
            values = records.fields.get(name)
            if values is not None:
                columns[name] = pick(values)
        for name in DATE_COLUMNS & columns.keys():
            columns[name] = spread(columns[name], lambda d: d.isoformat() if d else None)
        parts = []
        for kind, column in HASHED.items():
            values = records.fields.get(kind)
            if values is None:
                continue
            known = self.identifiers[kind]
            raw = pick(values)
            for value in set(raw).difference(known):
                known[value] = stored_identifier(kind, value, self.identifier_key)
            stored = [known[value] for value in raw]
            columns[column] = [s[0] for s in stored]
            parts.append([s[1] for s in stored])
        if parts:
            columns["identifier_typo_keys"] = [typo_key_text(p) for p in zip(*parts, strict=True)]
        block = records.block
        columns.update(
            record_id=record_ids,
            source=[self.adapter.name] * len(kept),
            source_key=[keys[i] for i in kept],
            ingest_run_id=[self.run_id] * len(kept),
            line_number=pick(block.lines),
            extra=pick(records.extra),
        )
        write_source_columns(self.session, columns, len(kept))

    def _write_problems(
        self, records: ColumnRecords, kept: list[int], record_ids: list[str], counts: LoadCounts
    ) -> None:
        block = records.block
        id_of = dict(zip(kept, record_ids, strict=True))
        issues = sorted(
            (issue for issue in records.issues if issue[0] in id_of), key=lambda i: (i[0], i[1])
        )
        issue_rows = [
            {
                "ingest_run_id": self.run_id,
                "record_id": id_of[row],
                "line_number": block.lines[row],
                "field": field,
                "reason": reason,
                "value": value[:1000].replace("\x00", "\\x00"),
            }
            for row, _, field, reason, value in issues
        ]
        quarantined: list[tuple[int, str, str, str]] = [
            (block.lines[row], field, reason, block.quarantine_text(row))
            for row, (field, reason) in records.refused.items()
        ]
        quarantined += [(u.line, u.field, u.reason, u.raw) for u in block.unusable]
        quarantined.sort(key=lambda q: q[0])
        quarantine_rows = [
            {"ingest_run_id": self.run_id, "line_number": line, "field": field,
             "reason": reason, "raw": raw}
            for line, field, reason, raw in quarantined
        ]  # fmt: skip
        for model, rows in ((RecordValueIssue, issue_rows), (QuarantinedRow, quarantine_rows)):
            if rows:
                self.session.execute(insert(cast(Table, model.__table__)), rows)
        _count(counts, block, kept, issues, quarantined)


def _count(
    counts: LoadCounts,
    block: RowBlock,
    kept: list[int],
    issues: list[tuple[int, int, str, str, str]],
    quarantined: list[tuple[int, str, str, str]],
) -> None:
    """Counts and examples as the row path keeps them, problem by problem in line order."""
    by_row: dict[int, list[tuple[str, str]]] = {}
    for row, _, field, reason, _value in issues:
        by_row.setdefault(row, []).append((field, reason))
    if len(counts.examples) >= EXAMPLES:
        counts.loaded += len(kept)
        counts.issues += len(issues)
        counts.quarantined += len(quarantined)
        return
    events: list[tuple[int, Any]] = [(block.lines[row], by_row.get(row, [])) for row in kept]
    events += [(q[0], q) for q in quarantined]
    events.sort(key=lambda e: e[0])
    for line, event in events:
        if isinstance(event, tuple):
            counts.quarantine(line, event[1], event[2])
        else:
            counts.load(line, event)


def _record_ids(source: str, keys: list[str]) -> list[str]:
    return [record_id_for(source, key) for key in keys]
