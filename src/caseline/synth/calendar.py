"""Dates drawn at random within spans; the window every history covers."""

from __future__ import annotations

import datetime as dt
import random

from caseline.synth.draws import randint

HISTORY_START = dt.date(2015, 1, 1)
DEFAULT_REFERENCE_DATE = dt.date(2026, 1, 1)
YEAR = 365.25


def day_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    """A uniform day in [start, end]; ``start`` when the span is empty."""
    first = start.toordinal()
    span = end.toordinal() - first
    return _from_ordinal(first + randint(rng, 0, span)) if span > 0 else start


def plus_days(day: dt.date, days: float) -> dt.date:
    # Ordinal arithmetic: cheaper than a timedelta on this hot path.
    return _from_ordinal(day.toordinal() + int(days))


_from_ordinal = dt.date.fromordinal


def poisson_times(
    rng: random.Random, start: dt.date, end: dt.date, per_year: float
) -> list[dt.date]:
    """Event days of a Poisson process with ``per_year`` events a year over [start, end)."""
    days = []
    t = start
    while per_year > 0:
        t = plus_days(t, rng.expovariate(per_year / YEAR) + 1)
        if t >= end:
            break
        days.append(t)
    return days


def birthday(rng: random.Random, on: dt.date, age: int) -> dt.date:
    """A date of birth for someone ``age`` years old on ``on``."""
    latest = (
        on.replace(year=on.year - age)
        if not (on.month == 2 and on.day == 29)
        else on.replace(year=on.year - age, day=28)
    )
    return latest - dt.timedelta(days=randint(rng, 0, 364))
