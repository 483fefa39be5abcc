"""What every normaliser shares."""

from __future__ import annotations

# Normalisers are pure and the same names, streets and dates recur across millions of rows,
# so each keeps its most recent results.
CACHE_SIZE = 200_000


class InvalidValue(ValueError):
    """A value that cannot be standardised; the message says why."""


def blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None
