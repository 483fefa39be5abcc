"""The error model: how a source garbles what it records. Rates are knobs, documented here."""

from __future__ import annotations

import datetime as dt
import random
import string
from dataclasses import dataclass

# Keys that sit next to each other on a QWERTY keyboard: the typo a clerk makes.
_NEIGHBOURS = {
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc",
    "g": "ftyhbv", "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop",
    "m": "njk", "n": "bhjm", "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz",
    "t": "rfgy", "u": "yhji", "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ErrorRates:
    """Per-field probabilities that a source garbles a value."""

    name_typo: float = 0.03
    date_of_birth_typo: float = 0.02
    date_of_birth_missing: float = 0.02
    middle_name_dropped: float = 0.4


def keyboard_typo(rng: random.Random, value: str) -> str:
    """Replace, drop, double or transpose one letter, as a hurried typist does."""
    if len(value) < 3:
        return value
    i = rng.randrange(1, len(value) - 1)
    kind = rng.randrange(4)
    ch = value[i].lower()
    if kind == 0 and ch in _NEIGHBOURS:
        replacement = rng.choice(_NEIGHBOURS[ch])
        return (
            value[:i]
            + (replacement.upper() if value[i].isupper() else replacement)
            + value[i + 1 :]
        )
    if kind == 1:
        return value[:i] + value[i + 1 :]
    if kind == 2:
        return value[:i] + value[i] + value[i:]
    return value[: i - 1] + value[i] + value[i - 1] + value[i + 1 :]


def garble_date(rng: random.Random, value: dt.date) -> dt.date:
    """A wrong day, or day and month swapped when that makes a valid date."""
    if value.day <= 12 and value.day != value.month and rng.random() < 0.5:
        return value.replace(month=value.day, day=value.month)
    day = min(max(1, value.day + rng.choice([-1, 1])), 28)
    return value.replace(day=day)


def random_digits(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(length))
