"""Dates in the formats sources use; impossible dates are refused with the reason."""

from __future__ import annotations

import datetime as dt

from caseline.standardise.values import InvalidValue, blank_to_none

ISO = "%Y-%m-%d"
US = "%m/%d/%Y"


def parse_date(value: str | None, fmt: str = ISO) -> dt.date | None:
    """Parse ``value`` with ``fmt``; blank -> None; '2023-02-30' -> InvalidValue."""
    value = blank_to_none(value)
    if value is None:
        return None
    try:
        return dt.datetime.strptime(value, fmt).date()
    except ValueError as exc:
        raise InvalidValue(f"{value!r} is not a valid date in format {fmt}: {exc}") from None


def parse_date_of_birth(
    value: str | None, fmt: str = ISO, *, today: dt.date | None = None
) -> dt.date | None:
    """A date of birth: a valid date, not in the future, not before 1900."""
    parsed = parse_date(value, fmt)
    if parsed is None:
        return None
    today = today or dt.date.today()
    if parsed > today:
        raise InvalidValue(f"date of birth {parsed.isoformat()} is in the future")
    if parsed.year < 1900:
        raise InvalidValue(f"date of birth {parsed.isoformat()} is before 1900")
    return parsed
