"""The ground-truth model of a synthetic person: names, homes, jobs, status and events over time.

Small immutable values are NamedTuples rather than frozen dataclasses: millions are made per
world, and a frozen dataclass costs a Python call per field to build.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

from caseline.synth.places import Address


class LegalName(NamedTuple):
    """A person's legal name from ``since`` (None: from birth) until the next one."""

    given: str
    middle: str | None
    family: str
    second_family: str | None  # the maternal surname of a two-surname convention
    suffix: str | None  # JR / SR
    since: dt.date | None = None


@dataclass(slots=True)
class Residence:
    address: Address
    moved_in: dt.date
    moved_out: dt.date | None  # None: lives there at the reference date


class Job(NamedTuple):
    employer: str
    start: dt.date
    end: dt.date | None


class StatusPeriod(NamedTuple):
    status: str
    since: dt.date
    until: dt.date | None


class Event(NamedTuple):
    """An immigration event: entry, exit, an application and its decision, a hearing."""

    kind: str  # entry | exit | status | hearing
    on: dt.date
    detail: dict[str, str]


@dataclass(slots=True)
class Person:
    index: int
    entity_id: str
    household_id: str
    group: str
    sex: str
    role: str  # head | spouse | child | relative | single
    date_of_birth: dt.date
    names: list[LegalName]
    renter: bool
    us_born: bool
    country_of_birth: str
    citizenship: str
    entered_on: dt.date | None = None
    residences: list[Residence] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    statuses: list[StatusPeriod] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    ssn: str | None = None
    itin: str | None = None
    a_number: str | None = None
    passports: list[tuple[str, dt.date]] = field(default_factory=list)
    licence_number: str | None = None
    departed_on: dt.date | None = None
    left_home_on: dt.date | None = None  # a grown child who moved out of the household
    twin_of: str | None = None

    def name_on(self, day: dt.date) -> LegalName:
        current = self.names[0]
        for name in self.names[1:]:
            if name.since is not None and name.since <= day:
                current = name
        return current

    def residence_on(self, day: dt.date) -> Residence | None:
        for residence in self.residences:
            if residence.moved_in <= day and (
                residence.moved_out is None or day < residence.moved_out
            ):
                return residence
        return None

    def previous_residence(self, residence: Residence) -> Residence | None:
        position = self.residences.index(residence)
        return self.residences[position - 1] if position > 0 else None

    def status_on(self, day: dt.date) -> str:
        status = self.statuses[0].status if self.statuses else "unknown"
        for period in self.statuses:
            if period.since <= day:
                status = period.status
        return status

    def passport_on(self, day: dt.date) -> str | None:
        number = None
        for passport_number, issued in self.passports:
            if issued <= day:
                number = passport_number
        return number or (self.passports[0][0] if self.passports else None)

    def in_country_on(self, day: dt.date) -> bool:
        arrived = self.entered_on is None or self.entered_on <= day
        return arrived and (self.departed_on is None or day < self.departed_on)

    def age_on(self, day: dt.date) -> int:
        years = day.year - self.date_of_birth.year
        return years - ((day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day))
