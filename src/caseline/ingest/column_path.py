"""Loading a file a block of columns at a time: read, standardise, hash, bulk insert.

Each block goes through the same steps as a row through ``row_path``, in the same order, so
the records, value issues and quarantine are the same: rows that can never be records are
set apart by the reader; then the source key (empty, too long); then the source's column
program; then values too long for their column; then keys seen before. What is left is
hashed and written with the driver's bulk path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from caseline.db.models import QuarantinedRow, RecordValueIssue
from caseline.ingest.blocks import RowBlock
from caseline.ingest.bulk import DATE_COLUMNS, indexes_built_after, write_source_columns
from caseline.ingest.column_readers import read_blocks
from caseline.ingest.identifiers import HASHED, stored_identifier, typo_key_text
from caseline.ingest.outcome import EXAMPLES, LoadCounts
from caseline.ingest.packed_columns import pack_columns, unpack_columns
from caseline.ingest.programs import ColumnProgram, ColumnRecords
from caseline.ingest.row_path import KEY_LENGTH, RECORD_TEXT_LIMITS
from caseline.ingest.worker import in_worker_process
from caseline.sources import CanonicalRecord, SourceAdapter, record_id_for
from caseline.sources.mapped import MappedSource
from caseline.standardise.columns import DistinctValues, spread

WORKER_BYTES = 1 << 20  # a file larger than this is prepared in a worker process
BYTES_PER_ROW = 100  # a guess at the rows a file holds, for choosing how to write them
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
    """Load ``path`` with ``program``; progress counts data rows, after each block.

    A file of more than WORKER_BYTES is read and standardised in a forked worker process
    while this one writes the blocks it has prepared.
    """
    preparer = _BlockPreparer(run_id, adapter, program, identifier_key, known_keys)
    counts = LoadCounts()

    def prepared() -> Iterator[PreparedBlock | LoadCounts]:
        for block in read_blocks(path, adapter.columns, encoding):
            yield preparer.prepare(block)
        yield preparer.counts

    size = path.stat().st_size
    rows = 0
    with indexes_built_after(session, incoming_rows=size // BYTES_PER_ROW):
        for item in in_worker_process(prepared) if size > WORKER_BYTES else prepared():
            if isinstance(item, LoadCounts):
                counts = item
                break
            item.write(session)
            rows += item.rows_read
            if progress is not None:
                progress(rows)
    return counts


@dataclass(slots=True)
class PreparedBlock:
    """A block ready to write: its records as columns, its value issues and quarantine."""

    size: int
    records: dict[str, list[Any]]
    issues: list[dict[str, Any]]
    quarantined: list[dict[str, Any]]
    rows_read: int

    def __getstate__(self) -> tuple[Any, ...]:
        """Pickled (for the pipe from the worker) with its columns packed."""
        packed = pack_columns(self.records, self.size)
        return self.size, packed, self.issues, self.quarantined, self.rows_read

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.size, packed, self.issues, self.quarantined, self.rows_read = state
        self.records = unpack_columns(packed, self.size)

    def write(self, session: Session) -> None:
        write_source_columns(session, self.records, self.size)
        for model, rows in ((RecordValueIssue, self.issues), (QuarantinedRow, self.quarantined)):
            if rows:
                # A Core insert of the table: the ORM's bulk path costs more than the database.
                session.execute(insert(cast(Table, model.__table__)), rows)


class _BlockPreparer:
    """Blocks of rows into blocks of records; keeps what spans blocks (keys seen, distinct
    values standardised, identifiers hashed, counts)."""

    def __init__(
        self,
        run_id: int,
        adapter: SourceAdapter,
        program: ColumnProgram,
        identifier_key: bytes,
        known_keys: set[str],
    ) -> None:
        self.run_id = run_id
        self.adapter = adapter
        self.program = program
        self.identifier_key = identifier_key
        self.known_keys = known_keys
        self.counts = LoadCounts()
        self.distinct: dict[Any, DistinctValues[Any]] = {}
        self.identifiers: dict[str, dict[str, tuple[str | None, str | None]]] = {
            kind: {} for kind in HASHED
        }

    def prepare(self, block: RowBlock) -> PreparedBlock:
        records = ColumnRecords(block, self.distinct)
        keys = self._keys(records)
        self.program(records)
        self._leave_out_oversized(records)
        self._refuse_seen_keys(records, keys)
        kept = [i for i in range(records.size) if i not in records.refused]
        record_ids = [record_id_for(self.adapter.name, keys[i]) for i in kept]
        stored = self._stored_records(records, kept, keys, record_ids)
        issues, quarantined = self._problems(records, kept, record_ids)
        return PreparedBlock(len(kept), stored, issues, quarantined, block.rows_read)

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

    def _stored_records(
        self, records: ColumnRecords, kept: list[int], keys: list[str], record_ids: list[str]
    ) -> dict[str, list[Any]]:
        if not kept:
            return {}
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
            if values is None or values.count(None) == len(values):
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
        return columns

    def _problems(
        self, records: ColumnRecords, kept: list[int], record_ids: list[str]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
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
        _count(self.counts, block, kept, issues, quarantined)
        return issue_rows, quarantine_rows


def _count(
    counts: LoadCounts,
    block: RowBlock,
    kept: list[int],
    issues: list[tuple[int, int, str, str, str]],
    quarantined: list[tuple[int, str, str, str]],
) -> None:
    """Counts and examples as the row path keeps them, problem by problem in line order."""
    if len(counts.examples) >= EXAMPLES or not (issues or quarantined):
        counts.loaded += len(kept)
        counts.issues += len(issues)
        counts.quarantined += len(quarantined)
        return
    by_row: dict[int, list[tuple[str, str]]] = {}
    for row, _, field, reason, _value in issues:
        by_row.setdefault(row, []).append((field, reason))
    events: list[tuple[int, Any]] = [(block.lines[row], found) for row, found in by_row.items()]
    events += [(q[0], q) for q in quarantined]
    events.sort(key=lambda e: e[0])
    counts.loaded += len(kept) - len(by_row)
    for line, event in events:
        if isinstance(event, tuple):
            counts.quarantine(line, event[1], event[2])
        else:
            counts.load(line, event)
