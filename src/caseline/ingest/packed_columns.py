"""Columns packed for the pipe from the ingest worker: one string per text column.

Pickling a million short strings one by one costs more than the work of making them;
joined on NUL (which no stored value holds: a row with one is quarantined) a text column
crosses as one string and is split again in C. Integer columns cross as machine integers.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from typing import Any

_SEPARATOR = "\x00"
Packed = tuple[str, Any, list[int]]


def pack_columns(columns: Mapping[str, Sequence[Any]], size: int) -> dict[str, Packed]:
    return {name: _pack(values, size) for name, values in columns.items()}


def unpack_columns(packed: Mapping[str, Packed], size: int) -> dict[str, list[Any]]:
    return {name: _unpack(kind, data, nones, size) for name, (kind, data, nones) in packed.items()}


def _pack(values: Sequence[Any], size: int) -> Packed:
    missing = values.count(None)
    if missing == size:
        return "none", None, []
    if missing == 0 and type(values[0]) is int:
        try:
            return "int", array("q", values).tobytes(), []
        except (TypeError, OverflowError):
            return "list", list(values), []
    nones: list[int] = []
    texts = values
    if missing:
        texts = ["" if v is None else v for v in values]
        nones = [i for i, v in enumerate(values) if v is None]
    try:
        joined = _SEPARATOR.join(texts)
    except TypeError:  # not all text
        return "list", list(values), []
    if joined.count(_SEPARATOR) != size - 1:  # a value holds the separator itself
        return "list", list(values), []
    return "text", joined, nones


def _unpack(kind: str, data: Any, nones: list[int], size: int) -> list[Any]:
    if kind == "none":
        return [None] * size
    if kind == "int":
        return array("q", data).tolist()
    if kind == "list":
        return list(data)
    values: list[Any] = data.split(_SEPARATOR) if size else []
    for i in nones:
        values[i] = None
    return values
