"""Rows in blocks of columns: what the column readers give the column programs.

A block holds a few tens of thousands of rows as one list of text per column, each row with
the line it starts on and its text as written. Rows that can never be records (unreadable,
the wrong number of fields, a NUL character, a value past the field limit) are set apart in
the block, with the field and the reason, before any program sees them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from caseline.ingest.readers import FIELD_LIMIT, SourceRow, raw_text

BLOCK_ROWS = 20_000


class UnusableRow(NamedTuple):
    """A row quarantined before standardisation: where, which field, why, and its text."""

    line: int
    field: str
    reason: str
    raw: str


@dataclass(slots=True)
class RowBlock:
    """Readable rows as columns (``None``: the row has no such column), and the unusable."""

    lines: list[int] = field(default_factory=list)
    columns: dict[str, list[str | None]] = field(default_factory=dict)
    raws: list[str] | None = None  # each row's text as written; None: rebuilt from its values
    unusable: list[UnusableRow] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.lines)

    @property
    def rows_read(self) -> int:
        """Data rows in the block, usable or not (what progress counts)."""
        return len(self.lines) + len(self.unusable)

    def column(self, name: str) -> list[str | None]:
        """The column's values; a column the file does not have is all ``None``."""
        found = self.columns.get(name)
        return found if found is not None else [None] * len(self.lines)

    def quarantine_text(self, index: int) -> str:
        """Row ``index`` as kept in quarantine, as the row-by-row reader keeps it."""
        if self.raws is not None:
            return raw_text_of(self.raws[index])
        values = [column[index] for column in self.columns.values()]
        return raw_text([value for value in values if value is not None])


def raw_text_of(text: str) -> str:
    """A record's text as written, as quarantine keeps it."""
    return SourceRow(0, None, text.rstrip("\r\n")).quarantine_text()


def unusable_reason(values: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """(field, reason) of the first value no record may hold: a NUL, or past the field limit."""
    for column, value in values:
        if "\x00" in value:
            return column, "contains a NUL character"
        if len(value) > FIELD_LIMIT:
            return column, f"longer than {FIELD_LIMIT:,} characters"
    return None


def set_apart_unusable(block: RowBlock) -> RowBlock:
    """The block without its rows holding a NUL or an over-long value, those set apart.

    Checked a whole column at a time; only a column that holds such a value is looked at
    row by row, and the row's first such value (in column order) is its reason.
    """
    flagged: set[int] = set()
    for values in block.columns.values():
        present = [v for v in values if v is not None] if None in values else values
        text = "".join(present)  # type: ignore[arg-type]
        if "\x00" in text or (present and max(map(len, present)) > FIELD_LIMIT):  # type: ignore[arg-type]
            flagged.update(
                i
                for i, v in enumerate(values)
                if v is not None and ("\x00" in v or len(v) > FIELD_LIMIT)
            )
    if not flagged:
        return block
    kept = [i for i in range(block.size) if i not in flagged]
    unusable = list(block.unusable)
    for i in sorted(flagged):
        reason = unusable_reason(
            (name, value)
            for name, values in block.columns.items()
            if (value := values[i]) is not None
        )
        assert reason is not None
        unusable.append(UnusableRow(block.lines[i], *reason, block.quarantine_text(i)))
    return RowBlock(
        lines=[block.lines[i] for i in kept],
        columns={name: [values[i] for i in kept] for name, values in block.columns.items()},
        raws=None if block.raws is None else [block.raws[i] for i in kept],
        unusable=unusable,
    )


class BlockBuilder:
    """Rows given one at a time (as dicts) gathered into a block of columns."""

    def __init__(self, keep_raw: bool) -> None:
        self.lines: list[int] = []
        self.rows: list[Mapping[str, str]] = []
        self.raws: list[str] | None = [] if keep_raw else None
        self.unusable: list[UnusableRow] = []

    def add(self, line: int, values: Mapping[str, str], raw: str | None) -> None:
        reason = unusable_reason(values.items())
        if reason is not None:
            text = raw_text_of(raw) if raw is not None else raw_text(list(values.values()))
            self.unusable.append(UnusableRow(line, *reason, text))
            return
        self.lines.append(line)
        self.rows.append(values)
        if self.raws is not None:
            self.raws.append(raw or "")

    def refuse(self, line: int, reason: str, raw: str) -> None:
        self.unusable.append(UnusableRow(line, "*", reason, raw_text_of(raw)))

    def __len__(self) -> int:
        return len(self.lines) + len(self.unusable)

    def take(self) -> RowBlock:
        names: dict[str, None] = {}
        for row in self.rows:
            names.update(dict.fromkeys(row))
        columns = {name: [row.get(name) for row in self.rows] for name in names}
        block = RowBlock(self.lines, columns, self.raws, self.unusable)
        self.__init__(self.raws is not None)  # type: ignore[misc]
        return block


def block_of_columns(
    lines: list[int],
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    raws: list[str] | None,
    unusable: list[UnusableRow],
    *,
    may_hold_unusable: bool = True,
) -> RowBlock:
    """A block from rows of fields under ``header`` (a name given twice keeps its last).
    ``may_hold_unusable`` False: the reader knows no value holds a NUL or passes the limit
    (its text holds no NUL, and no record is longer than the limit)."""
    transposed = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    columns: dict[str, list[str | None]] = {}
    for name, values in zip(header, transposed, strict=True):
        columns[name] = list(values)
    block = RowBlock(lines, columns, raws, unusable)
    return set_apart_unusable(block) if may_hold_unusable else block
