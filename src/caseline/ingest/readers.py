"""Read source files row by row: CSV, JSON Lines or Parquet, each row with where it came from.

A reader yields ``SourceRow``s: the line (CSV, JSONL) or row number (Parquet) where the row
starts, its values as text (None, with the problem, when the row cannot be a record), and
its raw text for quarantine. A file that cannot be read at all raises InputError naming the
line.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import math
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from caseline.errors import InputError

FIELD_LIMIT = 10_000  # characters in one value; a longer one sends its row to quarantine
RAW_LIMIT = 65_536  # characters of a quarantined row that are kept
MAX_RECORD_LINES = 1000  # a quoted field spanning more lines than this is taken as never closed
FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".parquet": "parquet",
}  # fmt: skip
DELIMITERS = {"csv": ",", "tsv": "\t"}


class SourceRow(NamedTuple):
    line: int
    values: dict[str, str] | None  # None: the row cannot be read as a record
    raw: str | None  # the record as written (None: rebuild it from values if needed)
    problem: str | None = None  # why values is None

    def quarantine_text(self) -> str:
        """The raw record as kept in quarantine (see ``_cut``)."""
        if self.raw is not None:
            return _cut(self.raw)
        return raw_text(list((self.values or {}).values()))


def file_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise InputError(
            f"unknown file type {path.suffix!r}; use one of {known}", where=str(path)
        ) from None


def read_rows(
    path: Path, required: Sequence[str], encoding: str = "utf-8-sig"
) -> Iterator[SourceRow]:
    """The rows of ``path``; refuses a file that lacks any of the ``required`` columns."""
    kind = file_format(path)
    if kind in DELIMITERS:
        return _csv_rows(path, required, encoding, DELIMITERS[kind])
    if kind == "jsonl":
        return _jsonl_rows(path, required, encoding)
    return _parquet_rows(path, required)


def refuse_missing(path: Path, columns: Sequence[str], required: Sequence[str]) -> None:
    missing = [c for c in required if c not in columns]
    if missing:
        found = ", ".join(columns[:30]) if columns else "none"
        message = f"missing columns: {', '.join(missing)} (the file has: {found})"
        raise InputError(message, where=f"{path}:1")


def _csv_rows(
    path: Path, required: Sequence[str], encoding: str, delimiter: str
) -> Iterator[SourceRow]:
    with path.open("rb") as handle:
        records = _csv_records(_LineFeed(numbered_lines(handle, path, encoding)), delimiter)
        first = next(records, None)
        if first is not None and first.problem is not None:
            raise InputError(f"unreadable CSV header ({first.problem})", where=f"{path}:1")
        header = [h.strip().lstrip("\ufeff") for h in (first.fields if first else [])]
        refuse_missing(path, header, required)
        twice = sorted({c for c in required if header.count(c) > 1})
        if twice:
            message = f"columns named twice, so which one is meant is unclear: {', '.join(twice)}"
            raise InputError(message, where=f"{path}:1")
        width = len(header)
        for record in records:
            raw = record.text.rstrip("\r\n")
            if record.problem is not None:
                yield SourceRow(record.line, None, raw, record.problem)
            elif not any(f.strip() for f in record.fields):
                continue  # a blank line is not a record
            elif len(record.fields) != width:
                problem = f"row has {len(record.fields)} fields, the header {width}"
                yield SourceRow(record.line, None, raw, problem)
            else:
                yield SourceRow(record.line, dict(zip(header, record.fields, strict=True)), raw)


class _Record(NamedTuple):
    line: int
    text: str
    fields: list[str]
    problem: str | None


class _LineFeed:
    """Numbered lines for csv.reader, remembering which lines the current record took.

    After each record, ``take()`` returns exactly its lines, so every record keeps its first
    line and its raw text however its quotes fall. A record may take at most
    MAX_RECORD_LINES lines: past that its quote is taken as never closed, and the lines after
    its first are read again (``give_back``).
    """

    def __init__(self, lines: Iterator[tuple[int, str]]) -> None:
        self._lines = lines
        self._pending: deque[tuple[int, str]] = deque()
        self._taken: list[tuple[int, str]] = []

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if len(self._taken) >= MAX_RECORD_LINES:
            raise StopIteration  # the reader then reports an unclosed quote
        line = self._pending.popleft() if self._pending else next(self._lines)
        self._taken.append(line)
        return line[1]

    def take(self) -> list[tuple[int, str]]:
        taken, self._taken = self._taken, []
        return taken

    def give_back(self, lines: list[tuple[int, str]]) -> None:
        self._pending.extendleft(reversed(lines))


def _csv_records(feed: _LineFeed, delimiter: str) -> Iterator[_Record]:
    """Each CSV record with its first line and raw text; a record that cannot be parsed is
    reported (not raised), and a quote that never closes costs one line, not the rest."""
    while True:
        reader = csv.reader(feed, strict=True, delimiter=delimiter)
        try:
            for fields in reader:
                taken = feed.take()
                yield _Record(taken[0][0], "".join(t for _, t in taken), fields, None)
            return
        except csv.Error as exc:
            taken = feed.take()
            if not taken:
                return
            if len(taken) > 1 or "unexpected end of data" in str(exc):
                # An opened quote swallowed the lines after it: quarantine the line that
                # opened it and read the others again as records of their own.
                feed.give_back(taken[1:])
                problem = "unbalanced quote: the field never closes"
            else:
                problem = f"unreadable CSV ({exc})"
            yield _Record(taken[0][0], taken[0][1], [], problem)


def numbered_lines(handle: BinaryIO, path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """Lines decoded one at a time, so an undecodable byte is reported on its own line.

    Lines end in LF or CRLF; a file whose lines end in CR alone (old Mac exports) is split on
    CR. UTF-16 and UTF-32 are decoded whole, since their bytes cannot be split into lines.
    """
    codec = codecs.lookup(encoding).name
    if codec.startswith(("utf-16", "utf-32")):
        yield from _wide_lines(handle, path, encoding)
        return
    name = "UTF-8" if codec.startswith("utf-8") else encoding
    head = handle.peek(65536)[:65536] if hasattr(handle, "peek") else b""
    lines: Iterable[bytes] = handle
    if b"\r" in head and b"\n" not in head:
        lines = (line + b"\r" for line in handle.read().split(b"\r") if line)
    for number, data in enumerate(lines, start=1):
        if number == 1 and b"\x00" in data:
            raise InputError("a binary file, not text (NUL bytes)", where=f"{path}:1")
        try:
            text = data.decode(encoding if number == 1 else without_bom(encoding))
        except UnicodeDecodeError as exc:
            message = f"not {name} text ({exc.reason}); say its encoding with --encoding"
            raise InputError(message, where=f"{path}:{number}") from None
        yield number, text


def _wide_lines(handle: BinaryIO, path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    text = io.TextIOWrapper(handle, encoding=encoding, newline="")
    try:
        yield from enumerate(text, start=1)
    except UnicodeDecodeError as exc:
        raise InputError(f"not {encoding} text ({exc.reason})", where=str(path)) from None
    finally:
        text.detach()


def without_bom(encoding: str) -> str:
    return "utf-8" if encoding.lower().replace("_", "-") == "utf-8-sig" else encoding


def _jsonl_rows(path: Path, required: Sequence[str], encoding: str) -> Iterator[SourceRow]:
    """One JSON object per line; keys are columns, and a key an object leaves out is empty
    (exporters drop null fields). A required column no object has refuses the file."""
    seen: set[str] = set()
    with path.open("rb") as handle:
        for line, text in numbered_lines(handle, path, encoding):
            if not text.strip():
                continue
            raw = text.rstrip("\r\n")
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                yield SourceRow(line, None, raw, f"not valid JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                yield SourceRow(line, None, raw, "not a JSON object")
                continue
            seen.update(obj)
            values = {column: "" for column in required}
            values.update((str(k), value_text(v)) for k, v in obj.items())
            yield SourceRow(line, values, raw)
    refuse_missing(path, sorted(seen), required)


def _parquet_rows(path: Path, required: Sequence[str]) -> Iterator[SourceRow]:
    """Parquet rows; the 'line' is the row's number (1 = the first row)."""
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:  # not Parquet, or not readable
        raise InputError(f"not a readable Parquet file ({exc})", where=str(path)) from None
    refuse_missing(path, parquet.schema_arrow.names, required)
    number = 0
    batches = parquet.iter_batches(batch_size=10_000)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (OSError, pa.ArrowException) as exc:  # a damaged page
            where = f"{path}: after row {number}"
            raise InputError(f"damaged Parquet data ({exc})", where=where) from None
        for row in batch.to_pylist():
            number += 1
            yield SourceRow(number, {k: value_text(v) for k, v in row.items()}, None)


def value_text(value: object) -> str:
    """A typed value (Parquet, JSON) as the text a CSV would hold: a whole float without its
    '.0' (a key or id written by pandas as 1804974.0 is 1804974), NaN and null as empty."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):  # a timestamp column: its date, if that is all it holds
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex()  # not text: an identifier in binary, compared as its hex
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dict | list):
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
