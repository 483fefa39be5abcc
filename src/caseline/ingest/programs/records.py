"""What a column program builds from a block: canonical fields as columns, the values it left
out (value issues) and the rows it refused (quarantine), exactly as the row adapters do."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from caseline.ingest.blocks import RowBlock
from caseline.standardise.address_columns import split_address_column
from caseline.standardise.columns import DistinctValues, Refused

Column = list[Any]


class ColumnRecords:
    """A block's records being built a column at a time.

    ``value`` is ``Row.value`` for a whole column: a value that does not parse is left out
    (``None``) and kept as an issue. ``refuse`` is a ``FieldError``: the row is quarantined
    with its field and reason, and the first refusal of a row is the one kept, as the first
    raise is in a row adapter. Programs call these in the order their row adapter does, so
    each record's issues come in the same order.
    """

    def __init__(self, block: RowBlock, distinct: dict[Any, DistinctValues[Any]]) -> None:
        self.block = block
        self.size = block.size
        self.fields: dict[str, Column] = {}
        self.extra: list[str] = ["{}"] * block.size  # each record's extra, as JSON text
        self.issues: list[tuple[int, int, str, str, str]] = []  # (row, order, field, why, value)
        self.refused: dict[int, tuple[str, str]] = {}
        self._distinct = distinct

    def text(self, column: str) -> list[str | None]:
        """The column as written (``None`` where the row has no such column)."""
        return self.block.column(column)

    def blank(self, column: str) -> list[str | None]:
        """The column stripped, blank as ``None`` (``blank_to_none`` of each value)."""
        return [(v.strip() or None) if v is not None else None for v in self.block.column(column)]

    def value(
        self, column: str, normalise: Callable[[str | None], Any], kind: Any = None
    ) -> Column:
        """``normalise`` over the column; ``kind`` names the normaliser for the cache (it
        defaults to the function itself)."""
        cells = self.block.column(column)
        distinct = self._distinct.get((column, kind or normalise))
        if distinct is None:
            distinct = self._distinct[(column, kind or normalise)] = DistinctValues(normalise)
        results, any_refused = distinct.results(cells)
        if not any_refused:
            return results
        out: Column = []
        for i, result in enumerate(results):
            if type(result) is Refused:
                self.issue(i, column, result.reason, cells[i] or "")
                out.append(None)
            else:
                out.append(result)
        return out

    def issue(self, row: int, field: str, reason: str, value: str) -> None:
        self.issues.append((row, len(self.issues), field, reason, value))

    def refuse(self, rows: Iterable[int], field: str, reasons: Callable[[int], str]) -> None:
        """Quarantine ``rows`` (those not refused already) on ``field``, each with its reason."""
        for row in rows:
            if row not in self.refused:
                self.refused[row] = (field, reasons(row))

    def set(self, **columns: Sequence[Any]) -> None:
        for name, values in columns.items():
            self.fields[name] = list(values)

    def set_name(self, names: Sequence[Any]) -> None:
        """Given, middle, family and suffix from a column of ``ParsedName``s (None: none)."""
        self.set(
            given_name=[n.given if n is not None else None for n in names],
            middle_name=[n.middle if n is not None else None for n in names],
            family_name=[n.family if n is not None else None for n in names],
            suffix=[n.suffix if n is not None else None for n in names],
        )

    def address(self, column: str, *, whole_line_fallback: bool = False) -> dict[str, Column]:
        """The column's one-line addresses as their six parts (``Row.value`` with
        ``parse_address_line``, or the registry's ``address`` with ``whole_line_fallback``):
        a value that is no address is left out with an issue."""
        cells = self.block.column(column)
        split = split_address_column(cells, whole_line_fallback=whole_line_fallback)
        for row, reason in split.refused:
            self.issue(row, column, reason, cells[row] or "")
        return split.parts


def joined_present(*columns: Sequence[str | None]) -> list[str]:
    """Per row, the values that are not empty joined by a space (``" ".join(filter(None,
    ...))`` of each row)."""
    return [" ".join(filter(None, values)) for values in zip(*columns, strict=True)]
