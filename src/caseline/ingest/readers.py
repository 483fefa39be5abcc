"""Read source files row by row: CSV, JSON Lines or Parquet, each row with where it came from.

A reader yields ``SourceRow``s: the line (CSV, JSONL) or row number (Parquet) where the row
starts, its values as text (None when the row's shape is wrong), and its raw text for
quarantine. A file that cannot be read at all raises InputError naming the line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow.parquet as pq

from caseline.errors import InputError

FIELD_LIMIT = 10_000  # characters in one value; a longer one sends its row to quarantine
RAW_LIMIT = 65_536  # characters of a quarantined row that are kept
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


class SourceRow(NamedTuple):
    line: int
    values: dict[str, str] | None  # None: the row does not have the header's shape
    raw: str


def file_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise InputError(
            f"unknown file type {path.suffix!r}; use one of {known}", where=str(path)
        ) from None


def read_rows(path: Path, required: Sequence[str]) -> Iterator[SourceRow]:
    """The rows of ``path``; refuses a file that lacks any of the ``required`` columns."""
    kind = file_format(path)
    if kind == "csv":
        return _csv_rows(path, required)
    if kind == "jsonl":
        return _jsonl_rows(path, required)
    return _parquet_rows(path, required)


def _refuse_missing(path: Path, columns: Sequence[str], required: Sequence[str]) -> None:
    missing = [c for c in required if c not in columns]
    if missing:
        raise InputError(f"missing columns: {', '.join(missing)}", where=f"{path}:1")


def _csv_rows(path: Path, required: Sequence[str]) -> Iterator[SourceRow]:
    csv.field_size_limit(FIELD_LIMIT * 16)  # read over-long values, then quarantine their rows
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in _next_fields(reader, path) or []]
        _refuse_missing(path, header, required)
        while True:
            first_line = reader.line_num + 1
            fields = _next_fields(reader, path)
            if fields is None:
                return
            if not any(f.strip() for f in fields):
                continue  # a blank line is not a record
            raw = raw_text(fields)
            if len(fields) != len(header):
                yield SourceRow(first_line, None, raw)
            else:
                yield SourceRow(first_line, dict(zip(header, fields, strict=True)), raw)


def _next_fields(reader: Any, path: Path) -> list[str] | None:
    try:
        fields: list[str] = next(reader)
    except StopIteration:
        return None
    except UnicodeDecodeError as exc:
        where = f"{path}:{reader.line_num + 1}"
        raise InputError(f"not UTF-8 text ({exc.reason})", where=where) from None
    except csv.Error as exc:
        raise InputError(f"unreadable CSV ({exc})", where=f"{path}:{reader.line_num}") from None
    return fields


def _jsonl_rows(path: Path, required: Sequence[str]) -> Iterator[SourceRow]:
    """One JSON object per line; keys are columns. Required columns are checked on the first."""
    checked = False
    with path.open(encoding="utf-8-sig") as handle:
        line = 0
        while True:
            try:
                text = handle.readline()
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"not UTF-8 text ({exc.reason})", where=f"{path}:{line + 1}"
                ) from None
            if not text:
                return
            line += 1
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError:
                yield SourceRow(line, None, _cut(text.rstrip("\n")))
                continue
            if not isinstance(obj, dict):
                yield SourceRow(line, None, _cut(text.rstrip("\n")))
                continue
            if not checked:
                _refuse_missing(path, list(obj), required)
                checked = True
            yield SourceRow(
                line, {str(k): _text(v) for k, v in obj.items()}, _cut(text.rstrip("\n"))
            )


def _parquet_rows(path: Path, required: Sequence[str]) -> Iterator[SourceRow]:
    """Parquet rows; the 'line' is the row's number (1 = the first row)."""
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise InputError(f"not a readable Parquet file ({exc})", where=str(path)) from None
    _refuse_missing(path, parquet.schema_arrow.names, required)
    number = 0
    for batch in parquet.iter_batches(batch_size=10_000):
        for row in batch.to_pylist():
            number += 1
            values = {k: _text(v) for k, v in row.items()}
            yield SourceRow(number, values, raw_text(list(values.values())))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def raw_text(fields: list[str]) -> str:
    """The row as CSV text for quarantine."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return _cut(buffer.getvalue())


def _cut(text: str) -> str:
    """NUL shown as \\x00 (no database stores it); a huge row cut to its first 64 KiB."""
    text = text.replace("\x00", "\\x00")
    if len(text) > RAW_LIMIT:
        text = f"{text[:RAW_LIMIT]}... ({len(text) - RAW_LIMIT:,} more characters not kept)"
    return text
