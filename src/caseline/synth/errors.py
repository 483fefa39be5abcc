"""The error model: how sources garble what they record. Every rate is a documented knob.

Each knob is the probability that one *eligible* value is garbled in that way (a
day/month swap is eligible only when the day is 12 or less and differs from the month; a
nickname only when the name has one). :class:`ErrorLog` counts, per kind, the eligible
values, the garbled ones and the expected number, so tests and the data card can check
that each kind occurs at its configured rate.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from functools import cache

from nicknames import NickNamer

# Keys next to each other on a QWERTY keyboard: the typo a hurried clerk makes.
_NEIGHBOURS = {
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc",
    "g": "ftyhbv", "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop",
    "m": "njk", "n": "bhjm", "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz",
    "t": "rfgy", "u": "yhji", "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}  # fmt: skip
# Shapes a scanner confuses.
_OCR = (
    ("rn", "m"), ("m", "rn"), ("cl", "d"), ("d", "cl"), ("li", "h"), ("h", "li"), ("O", "Q"),
    ("Q", "O"), ("E", "F"), ("I", "L"), ("e", "c"), ("c", "e"), ("u", "v"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ErrorRates:
    """Base probabilities; sources scale some of them (see ``SourceProfile``)."""

    keyboard_typo: float = 0.02
    """Per name part: one letter replaced by a neighbour, dropped, doubled or transposed."""
    ocr_typo: float = 0.01
    """Per name part: a scanner confusion (rn/m, cl/d, O/Q)."""
    nickname: float = 0.12
    """Per given name that has a nickname (Anglo names): the nickname is written."""
    transliteration: float = 0.15
    """Per name part in a group with romanisation variants: another spelling is written."""
    name_order_swap: float = 0.02
    """Per record: given and family name exchanged (x4 for family-name-first conventions)."""
    second_surname_dropped: float = 0.35
    """Per record of a person with two surnames: only the first is written."""
    second_surname_hyphenated: float = 0.10
    """Per record of a person with two surnames: they are joined by a hyphen."""
    second_surname_swapped: float = 0.03
    """Per record of a person with two surnames: they are written in the other order."""
    masculine_surname_form: float = 0.25
    """Per record of a woman with a gendered (Slavic) surname: the masculine form is written."""
    date_of_birth_swap: float = 0.02
    """Per date of birth whose day is 12 or less: day and month exchanged."""
    date_of_birth_typo: float = 0.01
    """Per date of birth: off by a day, or a digit of the year wrong."""
    missing_date_of_birth: float = 0.03
    """Per record that carries a date of birth: left blank."""
    missing_middle_name: float = 0.30
    """Per record with a middle name: left out."""
    stale_address: float = 0.15
    """Per record made after a move that should show the new address: shows the old one."""
    identifier_reuse: float = 0.004
    """Per record carrying an SSN: another person's SSN (a relative's, or a borrowed one)."""
    identifier_typo: float = 0.01
    """Per identifier written (SSN, ITIN, A-number, passport, licence): one digit mistyped or
    two neighbouring characters exchanged."""

    def scaled(self, **factors: float) -> ErrorRates:
        values = {
            name: getattr(self, name) * factors.get(name, 1.0) for name in self.__dataclass_fields__
        }
        return ErrorRates(**{k: min(v, 1.0) for k, v in values.items()})


@dataclass(slots=True)
class ErrorLog:
    """Per error kind: values eligible, values garbled, and the expected number garbled.

    Planted hard cases are counted the same way: persons eligible, planted, and expected."""

    eligible: dict[str, int] = field(default_factory=dict)
    applied: dict[str, int] = field(default_factory=dict)
    expected: dict[str, float] = field(default_factory=dict)

    def merge(self, other: ErrorLog) -> None:
        for mine, theirs in ((self.eligible, other.eligible), (self.applied, other.applied)):
            for kind, count in theirs.items():
                mine[kind] = mine.get(kind, 0) + count
        for kind, value in other.expected.items():
            self.expected[kind] = self.expected.get(kind, 0.0) + value


class Knob:
    """One error kind at one probability, counting its eligible and garbled values."""

    __slots__ = ("applied", "eligible", "kind", "probability")

    def __init__(self, kind: str, probability: float) -> None:
        self.kind = kind
        self.probability = min(probability, 1.0)
        self.eligible = 0
        self.applied = 0


class Knobs:
    """A source's knobs, one attribute per error kind (attributes keep the hot path cheap)."""

    def __init__(self, rates: ErrorRates) -> None:
        for name in ErrorRates.__dataclass_fields__:
            setattr(self, name, Knob(name, getattr(rates, name)))
        # Conventions that write the family name first are swapped four times as often.
        self.name_order_swap_family_first = Knob("name_order_swap", 4 * rates.name_order_swap)

    keyboard_typo: Knob
    ocr_typo: Knob
    nickname: Knob
    transliteration: Knob
    name_order_swap: Knob
    name_order_swap_family_first: Knob
    second_surname_dropped: Knob
    second_surname_hyphenated: Knob
    second_surname_swapped: Knob
    masculine_surname_form: Knob
    date_of_birth_swap: Knob
    date_of_birth_typo: Knob
    missing_date_of_birth: Knob
    missing_middle_name: Knob
    stale_address: Knob
    identifier_reuse: Knob
    identifier_typo: Knob

    def all(self) -> list[Knob]:
        return [k for k in vars(self).values() if isinstance(k, Knob)]


class Garbler:
    """Draws errors for one chunk; ``applied`` holds the kinds garbled in the current record."""

    def __init__(self, rng: random.Random, misdated: dict[str, dt.date] | None = None) -> None:
        self.rng = rng
        self.applied: list[str] = []
        self._random = rng.random
        # Entity id -> the date of birth that person's next record writes instead of their own
        # (a planted hard case, see ``hard_cases``); used once.
        self.misdated = misdated if misdated is not None else {}

    def hit(self, knob: Knob) -> bool:
        """Decide one eligible value; count it whatever the outcome."""
        knob.eligible += 1
        if self._random() < knob.probability:
            knob.applied += 1
            self.applied.append(knob.kind)
            return True
        return False

    def either(self, first: Knob, second: Knob) -> Knob | None:
        """Decide two exclusive kinds of one value with one draw (the hot path of typos)."""
        first.eligible += 1
        second.eligible += 1
        draw = self._random()
        for knob, threshold in (
            (first, first.probability),
            (second, first.probability + second.probability),
        ):
            if draw < threshold:
                knob.applied += 1
                self.applied.append(knob.kind)
                return knob
        return None

    def take_applied(self) -> str:
        if not self.applied:
            return ""
        kinds = ";".join(self.applied)
        self.applied = []
        return kinds


def log_of(knobs: list[Knob]) -> ErrorLog:
    """Sum knobs of one kind (several sources, several probabilities) into one log."""
    log = ErrorLog()
    for knob in knobs:
        log.eligible[knob.kind] = log.eligible.get(knob.kind, 0) + knob.eligible
        log.applied[knob.kind] = log.applied.get(knob.kind, 0) + knob.applied
        log.expected[knob.kind] = (
            log.expected.get(knob.kind, 0.0) + knob.eligible * knob.probability
        )
    return log


def keyboard_typo(rng: random.Random, value: str) -> str:
    """Replace, drop, double or transpose one inner letter."""
    if len(value) < 3:
        return value + value[-1:]
    i = rng.randrange(1, len(value) - 1)
    kind = rng.randrange(4)
    ch = value[i].lower()
    if kind == 0 and ch in _NEIGHBOURS:
        new = rng.choice(_NEIGHBOURS[ch])
        return value[:i] + (new.upper() if value[i].isupper() else new) + value[i + 1 :]
    if kind == 1:
        return value[:i] + value[i + 1 :]
    if kind == 2:
        return value[:i] + value[i] + value[i:]
    return value[: i - 1] + value[i] + value[i - 1] + value[i + 1 :]


def ocr_typo(rng: random.Random, value: str) -> str:
    """A scanner confusion where one fits, else a keyboard typo."""
    options = [(a, b) for a, b in _OCR if a in value]
    if not options:
        return keyboard_typo(rng, value)
    a, b = rng.choice(options)
    return value.replace(a, b, 1)


@cache
def _nicknamer() -> NickNamer:
    return NickNamer()


@cache
def nicknames_of(given: str) -> tuple[str, ...]:
    return tuple(sorted(n.title() for n in _nicknamer().nicknames_of(given.lower()) if len(n) > 1))


def swap_day_month(value: dt.date) -> dt.date:
    return value.replace(month=value.day, day=value.month)


def can_swap_day_month(value: dt.date) -> bool:
    return value.day <= 12 and value.day != value.month


def identifier_typo(rng: random.Random, value: str) -> str:
    """One digit replaced by another, or two neighbouring characters exchanged (separators
    such as the dashes of an SSN stay where they are)."""
    digits = [i for i, ch in enumerate(value) if ch.isdigit()]
    if not digits:
        return value
    chars = list(value)
    neighbours = [i for i in range(len(chars) - 1) if chars[i].isalnum() and chars[i + 1].isalnum()]
    if neighbours and rng.random() < 0.5:
        i = rng.choice(neighbours)
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    else:
        i = rng.choice(digits)
        chars[i] = rng.choice([d for d in "0123456789" if d != chars[i]])
    return "".join(chars)


def date_typo(rng: random.Random, value: dt.date) -> dt.date:
    """Off by one day, one digit of the year wrong (1978 -> 1987 or 1979), or two
    neighbouring digits of the written date exchanged across month and day (02-12 -> 01-22)."""
    draw = rng.random()
    if draw < 0.2:
        written = value.strftime("%m%d")
        exchanged = written[0] + written[2] + written[1] + written[3]
        try:
            if exchanged != written:
                return dt.date(value.year, int(exchanged[:2]), int(exchanged[2:]))
        except ValueError:
            pass
        draw = 0.5  # no such date, or the same one: the slip is a day's instead
    if draw < 0.6:
        return value + dt.timedelta(days=rng.choice((-1, 1)))
    year = value.year + rng.choice((-1, 1, 9, -9, 10, -10))
    try:
        return value.replace(year=year)
    except ValueError:  # 29 February in a year without it
        return value.replace(year=year, day=28)
