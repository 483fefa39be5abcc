"""Codes and plain identifiers: sex, US state and ZIP code, upper-cased text, other ids."""

from __future__ import annotations

import re

from caseline.standardise.values import InvalidValue, blank_to_none


def clean_sex(value: str | None) -> str | None:
    """'M', 'F' or 'X' (also 'male', 'female', 'man', 'woman'); blank -> None."""
    value = blank_to_none(value)
    if value is None:
        return None
    try:
        return _SEXES[value.upper()]
    except KeyError:
        raise InvalidValue(f"sex {value!r} is not M, F or X") from None


_SEXES = {
    "M": "M", "MALE": "M", "MAN": "M", "F": "F", "FEMALE": "F", "WOMAN": "F", "X": "X",
}  # fmt: skip


def clean_us_state(value: str | None) -> str | None:
    """A two-letter US state code."""
    value = blank_to_none(value)
    if value is None:
        return None
    if _STATE.match(value.upper()) is None:
        raise InvalidValue(f"state {value!r} is not a two-letter code")
    return value.upper()


def clean_us_postcode(value: str | None) -> str | None:
    """A US ZIP code, five digits (ZIP+4 is cut to five)."""
    value = blank_to_none(value)
    if value is None:
        return None
    if _ZIP.match(value) is None:
        raise InvalidValue(f"ZIP code {value!r} is not 12345 or 12345-6789")
    return value[:5]


_STATE = re.compile(r"^[A-Z]{2}$")
_ZIP = re.compile(r"^\d{5}(-\d{4})?$")


def upper_text(value: str | None) -> str | None:
    """Free text compared as written, in upper case (a non-US state, a postcode, a country)."""
    stripped = blank_to_none(value)
    return stripped.upper() if stripped else None


def clean_identifier(value: str | None) -> str | None:
    """An identifier of no known format: compared exactly, ignoring case, spaces and dashes."""
    stripped = blank_to_none(value)
    cleaned = re.sub(r"[\s-]", "", stripped).upper() if stripped else None
    return cleaned or None  # '-' and '--' say no number, as a blank does
