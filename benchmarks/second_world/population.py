"""The population a generated world holds: its persons, where they lived and their status.

Read from the world's truth files (`persons.csv`, `residences.csv`, `statuses.csv`), never
from its source files: the second world renders the same people, not the same records.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Residence:
    street_number: str
    street: str
    unit: str  # as the world writes it ("Apt 14"), or ""
    city: str
    state: str
    postcode: str
    moved_in: dt.date
    moved_out: dt.date | None

    def holds(self, on: dt.date) -> bool:
        return self.moved_in <= on and (self.moved_out is None or on < self.moved_out)

    @property
    def unit_number(self) -> str:
        """The unit without its designator: "Apt 14" -> "14"."""
        return self.unit.split()[-1] if self.unit else ""


@dataclass(frozen=True, slots=True)
class StatusPeriod:
    status: str
    since: dt.date
    until: dt.date | None


@dataclass(slots=True)
class Person:
    entity_id: str
    household_id: str
    group: str
    role: str
    sex: str
    given_name: str
    middle_name: str
    family_name: str
    second_family_name: str
    suffix: str
    date_of_birth: dt.date
    country_of_birth: str
    citizenship: str
    us_born: bool
    entered_on: dt.date | None
    departed_on: dt.date | None
    status: str
    previous_family_name: str
    name_changed_on: dt.date | None
    current_address: str
    residences: list[Residence] = field(default_factory=list)
    statuses: list[StatusPeriod] = field(default_factory=list)

    def residence_on(self, on: dt.date) -> Residence | None:
        return next((r for r in self.residences if r.holds(on)), None)

    def family_name_on(self, on: dt.date) -> str:
        """The family name the person went by on the day (a name changed at marriage)."""
        changed = self.name_changed_on
        if self.previous_family_name and changed is not None and on < changed:
            return self.previous_family_name
        return self.family_name

    def age_on(self, on: dt.date) -> int:
        born = self.date_of_birth
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))

    def present(self, on: dt.date) -> bool:
        """In the country on the day, as far as the world says."""
        if self.entered_on is not None and on < self.entered_on:
            return False
        return self.departed_on is None or on < self.departed_on


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text.strip() else None


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_population(world: Path) -> list[Person]:
    """Every person of the world with their residences and statuses, in the world's order."""
    persons: dict[str, Person] = {}
    for row in _rows(world / "persons.csv"):
        born = _date(row["date_of_birth"])
        assert born is not None, f"{row['entity_id']} has no date of birth"
        persons[row["entity_id"]] = Person(
            entity_id=row["entity_id"],
            household_id=row["household_id"],
            group=row["group"],
            role=row["role"],
            sex=row["sex"],
            given_name=row["given_name"],
            middle_name=row["middle_name"],
            family_name=row["family_name"],
            second_family_name=row["second_family_name"],
            suffix=row["suffix"],
            date_of_birth=born,
            country_of_birth=row["country_of_birth"],
            citizenship=row["citizenship"],
            us_born=row["us_born"] == "true",
            entered_on=_date(row["entered_on"]),
            departed_on=_date(row["departed_on"]),
            status=row["status"],
            previous_family_name=row["previous_family_name"],
            name_changed_on=_date(row["name_changed_on"]),
            current_address=row["current_address"],
        )
    residences: dict[str, list[Residence]] = defaultdict(list)
    for row in _rows(world / "residences.csv"):
        moved_in = _date(row["moved_in"])
        assert moved_in is not None
        residences[row["entity_id"]].append(
            Residence(
                row["street_number"],
                row["street"],
                row["unit"],
                row["city"],
                row["state"],
                row["postcode"],
                moved_in,
                _date(row["moved_out"]),
            )
        )
    for row in _rows(world / "statuses.csv"):
        since = _date(row["since"])
        assert since is not None
        persons[row["entity_id"]].statuses.append(
            StatusPeriod(row["status"], since, _date(row["until"]))
        )
    for entity, lived in residences.items():
        persons[entity].residences = sorted(lived, key=lambda r: r.moved_in)
    return list(persons.values())
