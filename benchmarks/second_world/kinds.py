"""What the second world's registry records of one person: six kinds of record, each with the
desk's own habits, drawn from the person's life as the world tells it.

- ``licence``: issue, renewal every eight years, most moves (name, birth, sex, home, number);
- ``filing``: a yearly tax filing in the spring (name, birth, taxpayer number, home);
- ``account``: a service account at a home, opened and closed around the move (a name and a
  service address only: the thin records);
- ``benefit``: a status decided or renewed (name, birth, A-number, status, mailing address);
- ``hearing``: a court hearing in proceedings, its order (name, birth, A-number, outcome);
- ``crossing``: an arrival, a departure or a trip (name, birth, sex, passport, nationality,
  direction), no address.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from .habits import (
    AddressSlips,
    Identifiers,
    account_date,
    dotted_date,
    draw_identifiers,
    long_date,
    one_line_address,
    registry_name,
    slip_identifier,
)
from .population import Person, Residence

KINDS = ("licence", "filing", "account", "benefit", "hearing", "crossing")
WINDOW_START = dt.date(2015, 1, 1)
LAWFUL = frozenset(
    {
        "citizen_birth", "citizen_naturalised", "permanent_resident", "visa_valid",
        "pending_asylum", "pending_adjustment", "temporary_protected",
    }
)  # fmt: skip
# The words the benefits desk uses for a status (all in Caseline's documented vocabulary).
BENEFIT_WORDS = {
    "permanent_resident": ("Green card", "LPR"),
    "pending_asylum": ("Asylum pending",),
    "pending_adjustment": ("Application pending",),
    "temporary_protected": ("TPS",),
    "visa_valid": ("Visa",),
    "visa_expired": ("Overstay",),
    "citizen_naturalised": ("Naturalized",),
}
HEARING_WORDS = {
    "in_proceedings": "In proceedings",
    "final_removal_order": "Removal order",
    "voluntary_departure_pending": "Voluntary departure",
    "voluntary_departure_overdue": "Voluntary departure",
    "voluntary_departure_departed": "Voluntary departure",
}
ACCOUNT_HOLDERS = {"head": 0.85, "single": 0.85, "spouse": 0.25, "relative": 0.3, "child": 0.1}
NAME_TYPO = 0.02
ID_SLIP = 0.01
DOB_SWAP = 0.01


@dataclass(slots=True)
class Drawn:
    """One record before it gets its key: the row's values and what is true of it."""

    kind: str
    recorded: dt.date
    values: dict[str, str]
    entity_id: str
    group: str
    true_address: str = ""
    slips: list[str] = field(default_factory=list)


def _days(rng: random.Random, low: int, high: int) -> dt.timedelta:
    return dt.timedelta(days=rng.randint(low, high))


def _year_later(day: dt.date, years: int) -> dt.date:
    return dt.date(day.year + years, day.month, min(day.day, 28))


def _status_on(person: Person, on: dt.date) -> str:
    for period in person.statuses:
        if period.since <= on and (period.until is None or on < period.until):
            return period.status
    return person.status


def _nationality(person: Person, on: dt.date) -> str:
    if person.us_born or _status_on(person, on) == "citizen_naturalised":
        return "USA"
    country = person.citizenship
    return (person.country_of_birth if country == "United States" else country).upper()


def _true_line(home: Residence) -> str:
    street = f"{home.street_number} {home.street}" + (f" {home.unit}" if home.unit else "")
    return f"{street}, {home.city}, {home.state} {home.postcode}"


class PersonRecords:
    """Draws every record of one person, from a generator seeded by the person alone."""

    def __init__(self, person: Person, seed: int, as_of: dt.date, slips: AddressSlips) -> None:
        self.person = person
        self.rng = random.Random(f"second-world:{seed}:{person.entity_id}")
        self.as_of = as_of
        self.slips = slips
        lawful = person.us_born or person.status in LAWFUL
        self.ids: Identifiers = draw_identifiers(self.rng, itin=not lawful)

    def draw(self) -> list[Drawn]:
        drawn: list[Drawn] = []
        for kind in KINDS:
            drawn += getattr(self, kind)()
        return [d for d in drawn if d.recorded <= self.as_of]

    # -- the values every desk writes --------------------------------------------------

    def _record(self, kind: str, on: dt.date, *, accents: bool, middle: float) -> Drawn:
        p = self.person
        name = registry_name(
            p.given_name, p.middle_name, p.family_name_on(on), p.second_family_name, p.suffix,
            self.rng, keep_accents=accents, keep_middle=middle, typo=NAME_TYPO,
        )  # fmt: skip
        values = {"kind": kind, "recorded": dotted_date(on), "person_name": name}
        return Drawn(kind, on, values, p.entity_id, p.group)

    def _birth(self, record: Drawn) -> None:
        born = self.person.date_of_birth
        if born.day <= 12 and born.day != born.month and self.rng.random() < DOB_SWAP:
            born = dt.date(born.year, born.day, born.month)
            record.slips.append("birth_swapped")
        record.values["born"] = long_date(born)

    def _home(self, record: Drawn, home: Residence, layout: str) -> None:
        line, made = one_line_address(home, self.rng, self.slips, layout=layout)
        record.values["home"] = line
        record.true_address = _true_line(home)
        record.slips += made

    def _identifier(self, record: Drawn, column: str, value: str) -> None:
        value, slipped = slip_identifier(value, self.rng, ID_SLIP)
        record.values[column] = value
        if slipped:
            record.slips.append(f"{column}_slip")

    # -- the kinds -----------------------------------------------------------------------

    def licence(self) -> list[Drawn]:
        p, rng = self.person, self.rng
        lawful = p.us_born or p.status in LAWFUL
        if rng.random() >= (0.85 if lawful else 0.35):
            return []
        earliest = max(WINDOW_START, _year_later(p.date_of_birth, 16))
        if p.entered_on is not None:
            earliest = max(earliest, p.entered_on + dt.timedelta(days=60))
        first = earliest + _days(rng, 0, 8 * 365)
        days = [first, _year_later(first, 8)]
        days += [
            r.moved_in + _days(rng, 5, 90)
            for r in p.residences
            if r.moved_in > first and rng.random() < 0.7
        ]
        out = []
        for on in sorted(days):
            home = p.residence_on(on)
            if on > self.as_of or home is None or not p.present(on):
                continue
            record = self._record("licence", on, accents=False, middle=0.6)
            self._birth(record)
            record.values["sex_code"] = {"M": "Male", "F": "Female"}.get(p.sex, "")
            self._home(record, home, "upper")
            self._identifier(record, "dl_no", self.ids.licence)
            out.append(record)
        return out

    def filing(self) -> list[Drawn]:
        p, rng = self.person, self.rng
        lawful = p.us_born or p.status in LAWFUL
        if p.role == "child" or rng.random() >= (0.75 if lawful else 0.5):
            return []
        out = []
        for year in range(WINDOW_START.year, self.as_of.year):
            year_end = dt.date(year, 12, 31)
            on = dt.date(year + 1, 2, 1) + _days(rng, 0, 70)
            if p.age_on(year_end) < 18 or not p.present(year_end) or rng.random() >= 0.85:
                continue
            home = p.residence_on(on) or p.residence_on(year_end)
            if home is None or not p.present(on):
                continue
            record = self._record("filing", on, accents=False, middle=0.3)
            if rng.random() < 0.9:
                self._birth(record)
            self._home(record, home, "unit_apart")
            tax = self.ids.tax
            if rng.random() < 0.01:
                tax = f"{tax[:3]} {tax[3:5]} {tax[5:]}"  # spaces, as a form filled by hand has them
                record.slips.append("tax_no_spaced")
            self._identifier(record, "tax_no", tax)
            out.append(record)
        return out

    def account(self) -> list[Drawn]:
        p, rng = self.person, self.rng
        out = []
        for home in p.residences:
            if p.age_on(home.moved_in) < 18 or rng.random() >= ACCOUNT_HOLDERS.get(p.role, 0.2):
                continue
            for _ in range(1 + (rng.random() < 0.25)):
                opened = home.moved_in + _days(rng, -14, 21)
                closed = None
                if home.moved_out is not None and rng.random() < 0.9:
                    closed = home.moved_out + _days(rng, 0, 30)
                if closed is not None and (closed < WINDOW_START or closed > self.as_of):
                    if closed < WINDOW_START:
                        continue
                    closed = None
                record = self._record("account", opened, accents=rng.random() < 0.5, middle=0.1)
                record.values["opened"] = account_date(opened)
                record.values["closed"] = account_date(closed) if closed else ""
                self._home(record, home, "hash")
                out.append(record)
        return out

    def benefit(self) -> list[Drawn]:
        p, rng = self.person, self.rng
        out = []
        for period in p.statuses:
            words = BENEFIT_WORDS.get(period.status)
            if words is None:
                continue
            on = period.since
            if on < WINDOW_START:
                end = min(period.until or self.as_of, self.as_of)
                if end <= WINDOW_START or rng.random() >= 0.6:
                    continue
                on = WINDOW_START + _days(rng, 0, (end - WINDOW_START).days - 1)
            elif period.status == "visa_expired" and rng.random() >= 0.5:
                continue
            out.append(self._status_record("benefit", on, rng.choice(words), mailing=0.85))
        return out

    def hearing(self) -> list[Drawn]:
        p, rng = self.person, self.rng
        out = []
        for period in p.statuses:
            words = HEARING_WORDS.get(period.status)
            if words is None:
                continue
            days = [period.since]
            if period.status == "in_proceedings":
                end = min(period.until or self.as_of, self.as_of)
                span = (end - period.since).days
                if span > 1:
                    days += [period.since + _days(rng, 1, span) for _ in range(rng.randint(0, 2))]
            for on in sorted(days):
                out.append(self._status_record("hearing", on, words, mailing=0.7))
        return out

    def _status_record(self, kind: str, on: dt.date, words: str, *, mailing: float) -> Drawn:
        record = self._record(kind, on, accents=True, middle=0.7)
        self._birth(record)
        self._identifier(record, "alien_no", self.ids.alien)
        record.values["program_status"] = words
        record.values["status_date"] = dotted_date(on)
        home = self.person.residence_on(on)
        if home is not None and self.rng.random() < mailing:
            self._home(record, home, "unit_apart" if kind == "benefit" else "upper")
        return record

    def crossing(self) -> list[Drawn]:
        p, rng = self.person, self.rng
        moves: list[tuple[dt.date, str]] = []
        if p.entered_on is not None and p.entered_on >= WINDOW_START:
            moves.append((p.entered_on, "IN"))
        if p.departed_on is not None and p.departed_on >= WINDOW_START:
            moves.append((p.departed_on, "OUT"))
        if p.age_on(self.as_of) >= 18 and rng.random() < 0.12:
            out = WINDOW_START + _days(rng, 0, (self.as_of - WINDOW_START).days - 60)
            back = out + _days(rng, 5, 40)
            if p.present(out) and p.present(back) and p.age_on(out) >= 18:
                moves += [(out, "OUT"), (back, "IN")]
        return list(self._crossings(sorted(moves)))

    def _crossings(self, moves: list[tuple[dt.date, str]]) -> Iterator[Drawn]:
        p = self.person
        for on, direction in moves:
            record = self._record("crossing", on, accents=False, middle=0.8)
            self._birth(record)
            record.values["sex_code"] = {"M": "Male", "F": "Female"}.get(p.sex, "")
            record.values["nationality"] = _nationality(p, on)
            record.values["direction"] = direction
            self._identifier(record, "travel_doc", self.ids.passport)
            yield record
