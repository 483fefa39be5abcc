"""The registry of value types: one normaliser per kind of value, looked up by name.

Source adapters call normalisers directly; a mapped source (a YAML mapping) names a
canonical field, and the field's value type decides its normaliser through this registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from caseline.standardise.addresses import Address, normalise_street, parse_address_line
from caseline.standardise.codes import clean_identifier, clean_sex, upper_text
from caseline.standardise.dates import ISO, parse_date, parse_date_of_birth
from caseline.standardise.identifiers import clean_a_number, clean_passport, clean_tin
from caseline.standardise.names import NAME_ORDERS, clean_name, split_full_name
from caseline.standardise.status import StatusTerm, clean_status
from caseline.standardise.values import InvalidValue, blank_to_none

Normaliser = Callable[[str | None], Any]


@dataclass(frozen=True, slots=True)
class ValueType:
    """A kind of value: how it is normalised, and what the normalised value is."""

    name: str
    description: str
    normalise: Callable[..., Any]  # (value) -> normalised; some also take fmt=
    takes_format: bool = False
    formats: frozenset[str] | None = None  # formats allowed; None: any strptime format


def _any_address(value: str | None) -> Address | None:
    """A one-line address: US-style parts when it reads as one, else the whole line as the
    street (so a foreign address is still compared, not dropped)."""
    try:
        return parse_address_line(value)
    except InvalidValue:
        number, street, unit = normalise_street(value)
        return Address(number, street, unit, None, None, None) if street else None


def _any_status(value: str | None) -> StatusTerm | None:
    """A status term from a file's words; blank is no status, unknown words are an issue."""
    words = blank_to_none(value)
    return clean_status(words) if words is not None else None


VALUE_TYPES: dict[str, ValueType] = {
    t.name: t
    for t in (
        ValueType("name", "a name part: ASCII, upper case, no punctuation", clean_name),
        ValueType("full_name", "a whole name, split into given, middle, family, suffix",
                  split_full_name, takes_format=True, formats=NAME_ORDERS),
        ValueType("date", "a calendar date", parse_date, takes_format=True),
        ValueType("birth_date", "a date of birth: real, not in the future, not before 1900",
                  parse_date_of_birth, takes_format=True),
        ValueType("sex", "M, F or X", clean_sex),
        ValueType("tin", "an SSN or ITIN in the ranges issued", clean_tin),
        ValueType("a_number", "an A-number, nine digits", clean_a_number),
        ValueType("passport", "a passport number, letters and digits", clean_passport),
        ValueType("identifier", "an identifier of no known format", clean_identifier),
        ValueType("address", "a one-line address, split into parts", _any_address),
        ValueType("street", "a street line, abbreviations standardised", blank_to_none),
        ValueType("text", "free text, upper case", upper_text),
        ValueType("status", "an immigration status in Caseline's vocabulary (or its synonyms)",
                  _any_status),
    )
}  # fmt: skip


def normaliser(type_name: str, fmt: str | None = None) -> Normaliser:
    """The normaliser of a value type; a date type reads ``fmt`` (ISO when none is given)."""
    value_type = VALUE_TYPES[type_name]
    if value_type.takes_format and fmt is not None:
        return partial(value_type.normalise, fmt=fmt)
    if value_type.takes_format and value_type.formats is None:
        return partial(value_type.normalise, fmt=ISO)
    normalise: Normaliser = value_type.normalise
    return normalise
