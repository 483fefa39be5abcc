"""Synthetic persons and their residence histories (ground truth), drawn deterministically."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from faker import Faker

REFERENCE_DATE = dt.date(2026, 1, 1)
HISTORY_START = dt.date(2015, 1, 1)


@dataclass(frozen=True, slots=True)
class Address:
    street_number: str
    street: str
    unit: str | None
    city: str
    state: str
    postcode: str

    @property
    def line(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.street_number} {self.street}{unit}"


@dataclass(frozen=True, slots=True)
class Residence:
    address: Address
    moved_in: dt.date
    moved_out: dt.date | None  # None: still lives there at the reference date


@dataclass(slots=True)
class Person:
    entity_id: str
    group: str
    given_name: str
    middle_name: str | None
    family_name: str
    date_of_birth: dt.date
    sex: str
    ssn: str
    employer: str
    residences: list[Residence] = field(default_factory=list)

    def residence_on(self, day: dt.date) -> Residence:
        for residence in self.residences:
            if residence.moved_in <= day and (
                residence.moved_out is None or day < residence.moved_out
            ):
                return residence
        return self.residences[0]


def draw_population(count: int, seed: int) -> list[Person]:
    """``count`` persons with one to three residences each between 2015 and the reference date."""
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    persons = []
    used_ssns: set[str] = set()
    for index in range(count):
        sex = rng.choice("MF")
        given = fake.first_name_male() if sex == "M" else fake.first_name_female()
        middle = (
            (fake.first_name_male() if sex == "M" else fake.first_name_female())
            if rng.random() < 0.6
            else None
        )
        persons.append(
            Person(
                entity_id=f"E{index:07d}",
                group="anglo",
                given_name=given,
                middle_name=middle,
                family_name=fake.last_name(),
                date_of_birth=_birth_date(rng),
                sex=sex,
                ssn=_unique_ssn(rng, used_ssns),
                employer=fake.company(),
                residences=_residence_history(rng, fake),
            )
        )
    return persons


def _birth_date(rng: random.Random) -> dt.date:
    return dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 65))


def _unique_ssn(rng: random.Random, used: set[str]) -> str:
    # Area 001-665 and 667-899, group and serial never zero: the valid SSN ranges.
    while True:
        area = rng.randrange(1, 900)
        if area == 666:
            continue
        ssn = f"{area:03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"
        if ssn not in used:
            used.add(ssn)
            return ssn


def _address(rng: random.Random, fake: Faker) -> Address:
    return Address(
        street_number=fake.building_number(),
        street=fake.street_name(),
        unit=fake.secondary_address() if rng.random() < 0.3 else None,
        city=fake.city(),
        state=fake.state_abbr(include_territories=False),
        postcode=fake.zipcode(),
    )


def _residence_history(rng: random.Random, fake: Faker) -> list[Residence]:
    moves = rng.choices([0, 1, 2], weights=[0.55, 0.3, 0.15])[0]
    span = (REFERENCE_DATE - HISTORY_START).days
    move_days = sorted(rng.sample(range(60, span - 30), moves))
    starts = [HISTORY_START - dt.timedelta(days=rng.randrange(0, 3000))]
    starts += [HISTORY_START + dt.timedelta(days=d) for d in move_days]
    residences = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else None
        residences.append(Residence(_address(rng, fake), start, end))
    return residences
