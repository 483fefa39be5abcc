"""Read source files in blocks of columns, with exactly the rows, lines and problems that the
row-by-row readers (``readers.py``) give.

CSV and TSV are decoded a few megabytes at a time; a piece of plain text (``arrow_csv``) is
parsed by Arrow, any other by the csv module over whole lists of lines; a record that cannot
be parsed is handled as the row reader handles it (its first line is quarantined and the
lines after it are read again), so the two agree on every file. Files the fast path does
not read (UTF-16 and UTF-32, lines ending in CR alone, a binary first line) are read by the
row reader and gathered into blocks. JSON Lines and Parquet are read a block at a time.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from caseline.errors import InputError
from caseline.ingest.arrow_csv import plain_columns
from caseline.ingest.blocks import (
    BLOCK_ROWS,
    BlockBuilder,
    RowBlock,
    UnusableRow,
    block_of_columns,
    raw_text_of,
    set_apart_unusable,
)
from caseline.ingest.readers import (
    DELIMITERS,
    FIELD_LIMIT,
    MAX_RECORD_LINES,
    file_format,
    numbered_lines,
    read_rows,
    refuse_missing,
    value_text,
    without_bom,
)

CHUNK_BYTES = 1 << 20  # small enough that the writer soon has a block, and the worker one to follow
FIRST_CHUNK_BYTES = 64 << 10
_UNBALANCED = "unbalanced quote: the field never closes"


def read_blocks(
    path: Path, required: Sequence[str], encoding: str = "utf-8-sig"
) -> Iterator[RowBlock]:
    """The rows of ``path`` in blocks; refuses a file that lacks a ``required`` column."""
    kind = file_format(path)
    if kind in DELIMITERS:
        if _csv_needs_row_reader(path, encoding):
            return _blocks_of_rows(path, required, encoding)
        return _CsvBlocks(path, required, encoding, DELIMITERS[kind]).blocks()
    if kind == "jsonl":
        return _jsonl_blocks(path, required, encoding)
    return _parquet_blocks(path, required)


def _csv_needs_row_reader(path: Path, encoding: str) -> bool:
    codec = codecs.lookup(encoding).name
    if codec.startswith(("utf-16", "utf-32")):
        return True
    with path.open("rb") as handle:
        head = handle.read(65536)
    first_line = head.split(b"\n", 1)[0]
    return (b"\r" in head and b"\n" not in head) or b"\x00" in first_line


def _blocks_of_rows(path: Path, required: Sequence[str], encoding: str) -> Iterator[RowBlock]:
    builder = BlockBuilder(keep_raw=True)
    for row in read_rows(path, required, encoding):
        if row.values is None:
            builder.refuse(row.line, row.problem or "the row cannot be read", row.raw or "")
        else:
            builder.add(row.line, row.values, row.raw)
        if len(builder) >= BLOCK_ROWS:
            yield builder.take()
    yield builder.take()


def _problem(error: csv.Error, lines_taken: int) -> str:
    """Why a record cannot be parsed, in the row reader's words."""
    if lines_taken > 1 or "unexpected end of data" in str(error):
        return _UNBALANCED
    return f"unreadable CSV ({error})"


class _CsvBlocks:
    """CSV or TSV records, parsed over whole lists of lines."""

    def __init__(self, path: Path, required: Sequence[str], encoding: str, delimiter: str) -> None:
        self.path = path
        self.required = required
        self.encoding = encoding
        self.delimiter = delimiter
        self.header: list[str] | None = None
        self.width = 0
        self._reset()

    def _reset(self) -> None:
        self.may_hold_unusable = False  # True once a NUL, a long line or a multi-line record
        self.lines: list[int] = []
        self.rows: list[list[str]] = []
        self.raws: list[str] = []
        self.unusable: list[UnusableRow] = []

    def blocks(self) -> Iterator[RowBlock]:
        carried: list[str] = []
        number = 1  # the line number of carried[0], or of the next line
        for text, final in self._texts():
            lines = carried + _split_lines(text)
            if "\x00" in text or (lines and max(map(len, lines)) > FIELD_LIMIT):
                self.may_hold_unusable = True
            elif self.header is not None and not carried:
                columns = plain_columns(text, lines, self.width, self.delimiter)
                if columns is not None:
                    if self.lines or self.unusable:
                        yield self._block()
                    yield self._plain_block(columns, lines, number)
                    number += len(lines)
                    continue
            first_number = number
            consumed = self._parse(lines, first_number, final)
            carried = lines[consumed:]
            number = first_number + consumed
            if self.header is None and final:
                self._take_header([], 1)
            if len(self.lines) + len(self.unusable) >= BLOCK_ROWS or final:
                yield self._block()

    def _block(self) -> RowBlock:
        header = self.header or []
        block = block_of_columns(self.lines, header, self.rows, self.raws, self.unusable,
                                 may_hold_unusable=self.may_hold_unusable)  # fmt: skip
        self._reset()
        return block

    def _plain_block(self, columns: list[list[str]], lines: list[str], number: int) -> RowBlock:
        """A block of plain text's records: one a line, none blank, none unusable."""
        by_name: dict[str, list[str | None]] = {}
        for name, values in zip(self.header or [], columns, strict=True):
            by_name[name] = values  # type: ignore[assignment]
        return RowBlock(list(range(number, number + len(lines))), by_name, lines, [])

    def _texts(self) -> Iterator[tuple[str, bool]]:
        """The file's text a few megabytes at a time, each piece ending at a line's end."""
        with self.path.open("rb") as handle:
            rest = b""
            first = True
            while True:
                # The first piece is small: it holds the header, which the csv module reads.
                data = handle.read(CHUNK_BYTES if not first else FIRST_CHUNK_BYTES)
                final = not data
                data, rest = rest + data, b""
                if not final:
                    cut = data.rfind(b"\n") + 1
                    if cut == 0:
                        rest = data
                        continue
                    data, rest = data[:cut], data[cut:]
                try:
                    text = data.decode(self.encoding if first else without_bom(self.encoding))
                except UnicodeDecodeError:
                    self._refuse_undecodable(handle)
                first = False
                yield text, final
                if final:
                    return

    def _refuse_undecodable(self, handle: BinaryIO) -> None:
        """Raise the row reader's error, naming the first line that does not decode."""
        handle.seek(0)
        for _ in numbered_lines(handle, self.path, self.encoding):
            pass
        raise AssertionError("undecodable text decoded line by line")  # pragma: no cover

    def _take_header(self, fields: list[str], line: int) -> None:
        header = [h.strip().lstrip("\ufeff") for h in fields]
        refuse_missing(self.path, header, self.required)
        twice = sorted({c for c in self.required if header.count(c) > 1})
        if twice:
            message = f"columns named twice, so which one is meant is unclear: {', '.join(twice)}"
            raise InputError(message, where=f"{self.path}:{line}")
        self.header, self.width = header, len(header)

    def _parse(self, lines: list[str], first_number: int, final: bool) -> int:
        """Parse ``lines`` into records; returns how many lines were used (the rest belong
        to a record that goes on in the next piece)."""
        start = 0
        while start < len(lines):
            reader = csv.reader(itertools.islice(lines, start, None), strict=True,
                                delimiter=self.delimiter)  # fmt: skip
            used = 0  # lines of this reader's records so far
            width = self.width if self.header is not None else -1
            numbers, rows, raws = self.lines, self.rows, self.raws
            try:
                for fields in reader:
                    at = start + used
                    used = reader.line_num
                    if used == at - start + 1 and len(fields) == width and fields[0].strip():
                        # The common record: one line, every field, not blank.
                        numbers.append(at + first_number)
                        rows.append(fields)
                        raws.append(lines[at])
                        continue
                    span = used - (at - start)
                    if span > MAX_RECORD_LINES:
                        self._unparsable(at + first_number, _UNBALANCED, lines[at])
                        start = at + 1
                        break
                    self._record(at + first_number, fields, lines, at, span)
                    width = self.width
                else:
                    return len(lines)
            except csv.Error as error:
                at = start + used
                taken = reader.line_num - used
                if not final and at + taken >= len(lines) and taken <= MAX_RECORD_LINES:
                    return at  # the record may close in the next piece
                self._unparsable(at + first_number, _problem(error, taken), lines[at])
                start = at + 1
        return len(lines)

    def _unparsable(self, line: int, problem: str, text: str) -> None:
        if self.header is None:
            raise InputError(f"unreadable CSV header ({problem})", where=f"{self.path}:1")
        self.unusable.append(UnusableRow(line, "*", problem, raw_text_of(text)))

    def _record(self, line: int, fields: list[str], lines: list[str], at: int, span: int) -> None:
        if self.header is None:
            self._take_header(fields, line)
            return
        if not any(fields) or "".join(fields).isspace():
            return  # a blank line is not a record
        raw = lines[at] if span == 1 else "".join(lines[at : at + span])
        self.may_hold_unusable = self.may_hold_unusable or span > 1
        if len(fields) != self.width:
            problem = f"row has {len(fields)} fields, the header {self.width}"
            self.unusable.append(UnusableRow(line, "*", problem, raw_text_of(raw)))
            return
        self.lines.append(line)
        self.rows.append(fields)
        self.raws.append(raw)


def _split_lines(text: str) -> list[str]:
    """Lines as a binary file splits them: at LF only, each keeping its line end."""
    parts = text.split("\n")
    last = parts.pop()
    lines = [part + "\n" for part in parts]
    if last:
        lines.append(last)
    return lines


def _jsonl_blocks(path: Path, required: Sequence[str], encoding: str) -> Iterator[RowBlock]:
    """As the row reader: a key an object leaves out is empty; a required column that no
    object has refuses the file."""
    seen: set[str] = set()
    builder = BlockBuilder(keep_raw=True)
    defaults = dict.fromkeys(required, "")
    with path.open("rb") as handle:
        for line, text in numbered_lines(handle, path, encoding):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                builder.refuse(line, f"not valid JSON ({exc.msg})", text)
                continue
            if not isinstance(obj, dict):
                builder.refuse(line, "not a JSON object", text)
                continue
            seen.update(obj)
            values = dict(defaults)
            values.update((str(k), v if type(v) is str else value_text(v)) for k, v in obj.items())
            builder.add(line, values, text)
            if len(builder) >= BLOCK_ROWS:
                yield builder.take()
    refuse_missing(path, sorted(seen), required)
    yield builder.take()


def _parquet_blocks(path: Path, required: Sequence[str]) -> Iterator[RowBlock]:
    """Parquet rows by row number (1 = the first), a column at a time."""
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"not a readable Parquet file ({exc})", where=str(path)) from None
    refuse_missing(path, parquet.schema_arrow.names, required)
    number = 0
    batches = parquet.iter_batches(batch_size=BLOCK_ROWS)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (OSError, pa.ArrowException) as exc:
            where = f"{path}: after row {number}"
            raise InputError(f"damaged Parquet data ({exc})", where=where) from None
        columns = {
            name: _parquet_text(batch.column(i)) for i, name in enumerate(batch.schema.names)
        }
        lines = list(range(number + 1, number + batch.num_rows + 1))
        number += batch.num_rows
        yield set_apart_unusable(RowBlock(lines, columns, None))


def _parquet_text(array: pa.Array) -> list[str | None]:
    """A column as the text the row reader gives each value (null as empty)."""
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return ["" if value is None else value for value in array.to_pylist()]
    return [value_text(value) for value in array.to_pylist()]
