"""Dates in the formats sources use; impossible dates are refused with the reason."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache

from caseline.standardise.values import CACHE_SIZE, InvalidValue, blank_to_none

ISO = "%Y-%m-%d"
US = "%m/%d/%Y"
# The years a date is read in: a record's dates and the days Caseline reasons about. Beyond
# them a value is a placeholder ("9999-12-31" for no end) or a slip, and is left out.
EARLIEST_YEAR = 1800
LATEST_YEAR = 2200


@lru_cache(maxsize=CACHE_SIZE)
def parse_date(value: str | None, fmt: str = ISO) -> dt.date | None:
    """Parse ``value`` with ``fmt``; blank -> None; '2023-02-30' -> InvalidValue."""
    value = blank_to_none(value)
    if value is None:
        return None
    try:
        fast = _FAST.get(fmt)
        if fast is not None and (match := fast[0].match(value)):
            parsed = fast[1](match)
        else:
            parsed = dt.datetime.strptime(value, fmt).date()
    except ValueError as exc:
        raise InvalidValue(f"{value!r} is not a valid date in format {fmt}: {exc}") from None
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise InvalidValue(
            f"{value!r} is outside the years {EARLIEST_YEAR} to {LATEST_YEAR} "
            "(a placeholder for no date is left out)"
        )
    return parsed


# strptime is slow; the formats sources use most are read directly (same results).
_FAST: dict[str, tuple[re.Pattern[str], Callable[[re.Match[str]], dt.date]]] = {
    ISO: (
        re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
        lambda m: dt.date(int(m[1]), int(m[2]), int(m[3])),
    ),
    US: (
        re.compile(r"^(\d{2})/(\d{2})/(\d{4})$"),
        lambda m: dt.date(int(m[3]), int(m[1]), int(m[2])),
    ),
    "%Y%m%d": (
        re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
        lambda m: dt.date(int(m[1]), int(m[2]), int(m[3])),
    ),
}


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
