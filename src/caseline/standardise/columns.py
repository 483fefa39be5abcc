"""Normalisers applied to whole columns: each distinct value standardised once.

A column of a million rows holds far fewer distinct names, dates, streets and codes than
rows; standardising each distinct value once and spreading the results back over the rows
gives exactly what the per-value normalisers give, row by row, at a fraction of the cost.
``DistinctValues`` keeps the results across the blocks of one file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

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
        self._known: dict[str | None, T | Refused] = {}

    def results(self, column: Sequence[str | None]) -> tuple[list[T | Refused], bool]:
        """The normalised value of each cell (``Refused`` with the reason where the value
        was refused), and whether any was refused."""
        known = self._known
        if len(known) > _MAX_KEPT:
            known.clear()
        distinct = set(column)
        for value in distinct.difference(known):
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
