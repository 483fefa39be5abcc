"""One-line addresses split a whole column at a time, into the six part columns.

The common 'street, city, ST 12345' form is split by one regular expression over the whole
column (Arrow), and each distinct street line is normalised once; only a value that is not
in that form, or holds other than printable ASCII, goes through the per-value parser. The
parts are exactly those of ``parse_address_line`` (or of the registry's ``address`` type,
with ``whole_line_fallback``) for each value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from caseline.standardise.addresses import (
    _ONE_LINE,
    NO_ADDRESS,
    STREET_WORDS,
    Address,
    normalise_street,
    parse_address_line,
)
from caseline.standardise.values import InvalidValue

PARTS = ("street_number", "street", "unit", "city", "state", "postcode")
# Printable ASCII only: there Python's and Arrow's upper case, \s and \d agree, and strip()
# removes only spaces.
_PLAIN = r"^[ -~]*$"


@dataclass(frozen=True, slots=True)
class AddressColumns:
    parts: dict[str, list[str | None]]  # PARTS -> a value per row (None: no such part)
    refused: list[tuple[int, str]]  # (row, reason) of the values that cannot be addresses


def split_address_column(
    values: Sequence[str | None], *, whole_line_fallback: bool = False
) -> AddressColumns:
    """The address parts of each value. A value ``parse_address_line`` refuses is refused
    (its parts None) or, with ``whole_line_fallback``, read as a street line alone."""
    array = pa.array(values, pa.string())
    plain = pc.fill_null(pc.match_substring_regex(array, _PLAIN), False)
    upper = pc.ascii_upper(pc.utf8_trim(array, " "))
    matched = pc.extract_regex(pc.if_else(plain, upper, pa.scalar(None, pa.string())),
                               _ONE_LINE.pattern)  # fmt: skip
    # flatten() carries the struct's nulls (no match) into each part.
    line, city, state, postcode = matched.flatten()
    lines = line.to_pylist()
    distinct = list(set(lines).difference([None]))
    streets: dict[str | None, tuple[str | None, str | None, str | None]] = dict(
        zip(distinct, normalise_streets(distinct), strict=True)
    )
    streets[None] = (None, None, None)
    others: dict[str | None, Address | str] = {}
    refused: list[tuple[int, str]] = []
    unmatched = [i for i, text in enumerate(lines) if text is None]
    for i in unmatched:
        value = values[i]
        if value not in others:
            others[value] = _one_address(value, whole_line_fallback)
        if isinstance(found := others[value], str):
            refused.append((i, found))
    parts = {
        "street_number": [streets[text][0] for text in lines],
        "street": [streets[text][1] for text in lines],
        "unit": [streets[text][2] for text in lines],
        "city": pc.utf8_trim(city, " ").to_pylist(),
        "state": state.to_pylist(),
        "postcode": postcode.to_pylist(),
    }
    for i in unmatched:
        address = others[values[i]]
        address = address if isinstance(address, Address) else NO_ADDRESS
        for name in PARTS:
            parts[name][i] = getattr(address, name)
    return AddressColumns(parts, refused)


_WORDS = pa.array(list(STREET_WORDS), pa.string())
_ABBREVIATIONS = pa.array(list(STREET_WORDS.values()), pa.string())
_UNIT_AT_END = (  # as _UNIT.search
    r"^(?P<head>.*?)\b"
    r"(?:(?:APT|STE|UNIT)\b\s*(?P<unit>\S+)|(?:APT|UNIT|AP T|UN IT)(?P<glued>\d\S*))$"
)
_NUMBER_FIRST = r"^(?P<number>\d+[A-Z]?)\s+(?P<rest>.+)$"  # as _NUMBER.match
_NONE = pa.scalar(None, pa.string())


def normalise_streets(lines: list[str]) -> list[tuple[str | None, str | None, str | None]]:
    """``normalise_street`` of each line, for lines of printable ASCII only, a whole column
    at once: the same steps (punctuation to spaces, words abbreviated, a trailing unit and
    a leading number taken off) as Arrow kernels."""
    text = pc.replace_substring_regex(pc.ascii_upper(pa.array(lines, pa.string())), "[.,]", " ")
    text = pc.replace_substring(text, "#", " # ")
    words = pc.split_pattern(pc.utf8_trim(pc.replace_substring_regex(text, " +", " "), " "), " ")
    flat = pc.list_flatten(words)
    found = pc.index_in(flat, value_set=_WORDS)
    flat = pc.if_else(pc.is_null(found), flat, pc.take(_ABBREVIATIONS, pc.fill_null(found, 0)))
    text = pc.binary_join(pa.ListArray.from_arrays(words.offsets, flat), " ")
    with_unit = pc.extract_regex(text, _UNIT_AT_END)
    head, spaced, glued = with_unit.flatten()
    unit = pc.if_else(pc.equal(spaced, ""), glued, spaced)  # the group that took part
    text = pc.if_else(pc.is_valid(with_unit), pc.utf8_trim(head, " "), text)
    with_number = pc.extract_regex(text, _NUMBER_FIRST)
    number, rest = with_number.flatten()
    street = pc.if_else(pc.is_valid(with_number), rest, text)
    street = pc.if_else(pc.equal(street, ""), _NONE, street)
    return list(zip(number.to_pylist(), street.to_pylist(), unit.to_pylist(), strict=True))


def _one_address(value: str | None, whole_line_fallback: bool) -> Address | str:
    """The value's address, or why it is none."""
    try:
        return parse_address_line(value)
    except InvalidValue as exc:
        if not whole_line_fallback:
            return str(exc)
    number, street, unit = normalise_street(value)
    return Address(number, street, unit, None, None, None) if street else NO_ADDRESS
