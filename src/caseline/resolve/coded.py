"""A frame's columns held as codes into their distinct values, each worked on once.

Resolution derives many columns from a few (a name's first word, its sound, its forms, the
pieces blocking pairs records on), each by a function of one value or of a few columns'
values. A million records hold a few hundred thousand distinct names, so each function runs
once per distinct value; and a derived column's codes follow from its source's, so that no
column of a million strings is hashed twice.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd

# Each row's index into the distinct values (-1: missing), and those values (an array, or
# the Index pandas gives for a frame's column).
Coded = tuple[np.ndarray, np.ndarray | pd.Index]


class CodedColumns:
    """The codes of ``frame``'s columns, made on first use and kept; columns added through
    `derive` and `combine` are coded as they are made."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame
        self._coded: dict[str, Coded] = {}

    def __len__(self) -> int:
        return len(self._frame)

    def __getitem__(self, column: str) -> Coded:
        if column not in self._coded:
            self._coded[column] = pd.factorize(self._frame[column], use_na_sentinel=True)
        return self._coded[column]

    def derive(self, column: str, source: str, function: Callable[[Any], Hashable | None]) -> None:
        """Add ``column``: ``function`` of each distinct value of ``source`` (a missing
        value, or a function's None or NaN, is missing)."""
        codes, distinct = self[source]
        self._add(column, codes, [function(value) for value in distinct])

    def combine(
        self, column: str, sources: list[str], function: Callable[..., Hashable | None]
    ) -> None:
        """Add ``column``: ``function`` of each distinct combination of the ``sources``'
        values (a missing one passed as None)."""
        combination = np.zeros(len(self._frame), dtype=np.int64)
        for source in sources:  # the combination's code from each column's (0: missing)
            codes, distinct = self[source]
            combination = pd.factorize(combination * (len(distinct) + 1) + codes + 1)[0]
        first = np.unique(combination, return_index=True)[1]  # a row of each combination
        arguments = [_with_missing(self[source])[self[source][0][first]] for source in sources]
        made = [function(*values) for values in zip(*arguments, strict=True)]
        self._add(column, combination, made)

    def _add(self, column: str, codes: np.ndarray, mapped: list[Any]) -> None:
        mapped_codes, distinct = pd.factorize(_objects(mapped), use_na_sentinel=True)
        coded = (np.append(mapped_codes, -1)[codes], distinct)  # code -1 stays -1
        self._coded[column] = coded
        self._frame[column] = pd.Series(
            _with_missing(coded)[coded[0]], index=self._frame.index, dtype=object
        )


def _with_missing(coded: Coded) -> np.ndarray:
    """The distinct values and, last (where code -1 points), None."""
    return _objects([*coded[1], None])


def _objects(values: list[Any]) -> np.ndarray:
    """A 1-d object array of ``values`` (np.array would make tuples of one length a 2-d one)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
