"""Normalisers applied to whole columns: each distinct value standardised once.

A column of a million rows holds far fewer distinct names, dates, streets and codes than
rows; standardising each distinct value once and spreading the results back over the rows
gives exactly what the per-value normalisers give, row by row, at a fraction of the cost.
``DistinctValues`` keeps the results across the blocks of one file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from caseline.standardise.addresses import _ONE_LINE, Address, normalise_street, parse_address_line
from caseline.standardise.values import InvalidValue

T = TypeVar("T")

_MAX_KEPT = 400_000  # distinct values remembered per column before the memory is cleared


class Refused:
    """A value the normaliser refused, with its reason (the InvalidValue's message)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class DistinctValues(Generic[T]):
    """One normaliser over columns: each distinct value is normalised once and remembered."""

    def __init__(self, normalise: Callable[[str | None], T]) -> None:
        self.normalise = normalise
        self._many = COLUMN_NORMALISERS.get(normalise)
        self._known: dict[str | None, T | Refused] = {}

    def results(self, column: Sequence[str | None]) -> tuple[list[T | Refused], bool]:
        """The normalised value of each cell (``Refused`` with the reason where the value
        was refused), and whether any was refused."""
        known = self._known
        if len(known) > _MAX_KEPT:
            known.clear()
        distinct = set(column)
        new = list(distinct.difference(known))
        if self._many is not None and len(new) > 1_000:
            known.update(zip(new, self._many(new), strict=True))
        else:
            for value in new:
                known[value] = self._one(value)
        refused = any(type(known[value]) is Refused for value in distinct)
        return [known[value] for value in column], refused

    def _one(self, value: str | None) -> T | Refused:
        try:
            return self.normalise(value)
        except InvalidValue as exc:
            return Refused(str(exc))


def spread(column: Sequence[Any], normalise: Callable[[Any], Any]) -> list[Any]:
    """``normalise`` of each cell, computed once per distinct (hashable) value; for
    normalisers that refuse nothing."""
    known = {value: normalise(value) for value in set(column)}
    return [known[value] for value in column]


def _refused_or(normalise: Callable[[str | None], Any], value: str | None) -> Any:
    try:
        return normalise(value)
    except InvalidValue as exc:
        return Refused(str(exc))


# Printable ASCII only: there Python's and Arrow's upper case, \s and \d agree, and strip()
# removes only spaces.
_PLAIN = r"^[ -~]*$"


def parse_address_lines(values: Sequence[str | None]) -> list[Address | Refused]:
    """``parse_address_line`` of each value (Refused where it raises), the common 'street,
    city, ST 12345' form split for the whole column at once; only the others (and any
    value with other than printable ASCII) go through the per-value parser."""
    array = pa.array(values, pa.string())
    plain = pc.fill_null(pc.match_substring_regex(array, _PLAIN), False)
    upper = pc.ascii_upper(pc.utf8_trim(array, " "))
    parts = pc.extract_regex(pc.if_else(plain, upper, pa.scalar(None, pa.string())),
                             _ONE_LINE.pattern)  # fmt: skip
    # flatten() carries the struct's nulls (no match) into each part.
    lines, cities, states, zips = (part.to_pylist() for part in parts.flatten())
    streets = {line: normalise_street(line) for line in set(lines) if line is not None}
    results: list[Address | Refused] = []
    for value, line, city, state, postcode in zip(values, lines, cities, states, zips, strict=True):
        if line is None:
            results.append(_refused_or(parse_address_line, value))
        else:
            number, street, unit = streets[line]
            results.append(Address(number, street, unit, city.strip(), state, postcode))
    return results


def _any_address_lines(values: Sequence[str | None]) -> list[Any]:
    from caseline.standardise.registry import _any_address

    return [
        _refused_or(_any_address, value) if type(parsed) is Refused else parsed
        for value, parsed in zip(values, parse_address_lines(values), strict=True)
    ]


def _column_normalisers() -> dict[Callable[..., Any], Callable[[Sequence[str | None]], list[Any]]]:
    from caseline.standardise.registry import _any_address

    return {parse_address_line: parse_address_lines, _any_address: _any_address_lines}


COLUMN_NORMALISERS = _column_normalisers()
