"""How a source writes a person down: its conventions, its lags, and the errors it makes.

Every garbling goes through :class:`Garbler`, so each record's truth row lists the error
kinds applied to it and the chunk's :class:`ErrorLog` counts them against their rates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from anyascii import anyascii

from caseline.synth.errors import (
    Garbler,
    Knobs,
    can_swap_day_month,
    date_typo,
    identifier_typo,
    keyboard_typo,
    nicknames_of,
    ocr_typo,
    swap_day_month,
)
from caseline.synth.model import LegalName, Person, Residence
from caseline.synth.names import TRANSLITERATION_RULES, masculine_surname, transliteration_variant
from caseline.synth.places import Address

NAMESAKE_DATE_OF_BIRTH = "namesake_date_of_birth"  # the error kind of a misdated record
FAMILY_FIRST_GROUPS = frozenset({"east_asian", "vietnamese"})
# Groups whose names are romanised from another script, so sources spell them differently.
_TRANSLITERATED_GROUPS = frozenset(TRANSLITERATION_RULES) - {"anglo", "hispanic"}
_ARTICLE_FORMS = ("El ", "El-", "Al-", "Al ", "El", "")


@dataclass(frozen=True, slots=True)
class SourceProfile:
    """A source's writing habits: case, script, and its error knobs (counted per chunk)."""

    name: str
    knobs: Knobs
    upper: bool = False
    ascii_only: bool = False
    writes_suffix: float = 0.5  # probability that a JR/SR suffix is written at all


class WrittenName(NamedTuple):  # a tuple: built once per record, so construction must be cheap
    given: str
    middle: str
    family: str
    suffix: str


def write_name(g: Garbler, person: Person, legal: LegalName, profile: SourceProfile) -> WrittenName:
    """The name as this source writes it, with variation and errors drawn and logged."""
    rng, knobs, group = g.rng, profile.knobs, person.group
    given, middle, family = legal.given, legal.middle or "", legal.family
    if legal.second_family:
        if g.hit(knobs.second_surname_dropped):
            pass
        elif g.hit(knobs.second_surname_hyphenated):
            family = f"{family}-{legal.second_family}"
        elif g.hit(knobs.second_surname_swapped):
            family = f"{legal.second_family} {family}"
        else:
            family = f"{family} {legal.second_family}"
    if family.startswith("El ") and rng.random() < 0.5:
        family = rng.choice(_ARTICLE_FORMS) + family[3:]  # a convention, not an error: not logged
    if (
        group == "slavic"
        and person.sex == "F"
        and masculine_surname(family) != family
        and g.hit(knobs.masculine_surname_form)
    ):
        family = masculine_surname(family)
    nicks = nicknames_of(given) if group == "anglo" else ()
    if nicks and g.hit(knobs.nickname):
        given = rng.choice(nicks)
    if group in _TRANSLITERATED_GROUPS:
        if g.hit(knobs.transliteration):
            given = transliteration_variant(rng, group, given)
        if g.hit(knobs.transliteration):
            family = transliteration_variant(rng, group, family)
    given, family = _typos(g, given, knobs), _typos(g, family, knobs)
    if middle and g.hit(knobs.missing_middle_name):
        middle = ""
    if group == "vietnamese" and middle and rng.random() < 0.3:
        given, middle = f"{middle} {given}", ""  # "Van Hung" written as the given name
    swap = (
        knobs.name_order_swap_family_first
        if group in FAMILY_FIRST_GROUPS
        else knobs.name_order_swap
    )
    if g.hit(swap):
        given, family = family, given
    suffix = legal.suffix or ""
    if suffix and rng.random() >= profile.writes_suffix:
        suffix = ""
    return WrittenName(
        _style(given, profile),
        _style(middle, profile) if middle else "",
        _style(family, profile),
        suffix.upper() if suffix else "",
    )


def _typos(g: Garbler, value: str, knobs: Knobs) -> str:
    kind = g.either(knobs.keyboard_typo, knobs.ocr_typo)
    if kind is knobs.keyboard_typo:
        return keyboard_typo(g.rng, value)
    if kind is knobs.ocr_typo:
        return ocr_typo(g.rng, value)
    return value


def _style(value: str, profile: SourceProfile) -> str:
    if profile.ascii_only and not value.isascii():
        value = anyascii(value)
    return value.upper() if profile.upper else value


def write_date_of_birth(g: Garbler, person: Person, profile: SourceProfile) -> dt.date | None:
    """The date of birth as written: sometimes blank, swapped or mistyped, or (planted) a
    namesake's."""
    if g.misdated and person.entity_id in g.misdated:
        g.applied.append(NAMESAKE_DATE_OF_BIRTH)
        return g.misdated.pop(person.entity_id)
    knobs = profile.knobs
    if g.hit(knobs.missing_date_of_birth):
        return None
    value = person.date_of_birth
    if can_swap_day_month(value) and g.hit(knobs.date_of_birth_swap):
        return swap_day_month(value)
    if g.hit(knobs.date_of_birth_typo):
        return date_typo(g.rng, value)
    return value


def write_identifier(g: Garbler, value: str | None, profile: SourceProfile) -> str:
    """An identifier as written: now and then with a slip of the pen; '' where there is none."""
    if not value:
        return ""
    return identifier_typo(g.rng, value) if g.hit(profile.knobs.identifier_typo) else value


def written_address(
    g: Garbler, person: Person, day: dt.date, profile: SourceProfile, *, may_be_stale: bool = True
) -> Address | None:
    """The address a record made on ``day`` shows: current, or (stale) the one before a move."""
    residence = person.residence_on(day) or _last_before(person, day)
    if residence is None:
        return None
    previous = person.previous_residence(residence)
    if may_be_stale and previous is not None and g.hit(profile.knobs.stale_address):
        return previous.address
    return residence.address


def _last_before(person: Person, day: dt.date) -> Residence | None:
    earlier = [r for r in person.residences if r.moved_in <= day]
    return earlier[-1] if earlier else None
