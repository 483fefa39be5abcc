"""What every normaliser shares."""

from __future__ import annotations


class InvalidValue(ValueError):
    """A value that cannot be standardised; the message says why."""


def blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None
