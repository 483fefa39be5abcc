"""Hard cases planted on purpose: the situations in which a careless match harms someone.

Some hard cases arise from the population by themselves at a useful rate: a son named after
his father (Jr./Sr.), a naturalised citizen whose old visa and border records remain, a
person whose latest move was last month. Others are too rare to arise by chance, so the
generator plants them at the rates of :class:`HardCases`: a US-born citizen who shares the
name and birth year of a person ordered removed, a record of that citizen whose date of
birth slipped into the other person's, and an asylum application filed after a removal
order. Each is counted like an error kind (eligible, planted, expected) in the world's
``hard_cases`` log.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import deque
from dataclasses import dataclass, fields

from caseline.synth.calendar import day_between, plus_days
from caseline.synth.errors import ErrorLog, Knob, can_swap_day_month, log_of, swap_day_month
from caseline.synth.model import Person
from caseline.synth.status import file_asylum_after_order

ORDERED = "final_removal_order"
NAMESAKE_MIN_AGE = 19  # anyone born in the same year as the ordered person is an adult
# An asylum claim after an order is filed at least this many days after the order, and before
# the reference date.
FILED_AFTER_ORDER, FILED_BEFORE_REFERENCE = 30, 45


@dataclass(frozen=True, slots=True)
class HardCases:
    """Rates of the planted hard cases; each is a probability per eligible person."""

    namesake_citizen: float = 0.05
    """Per adult with a final removal order at the reference date: a US-born citizen living
    alone is added to the world with their given and family name, sex and birth year (a
    middle name and a date of birth of their own)."""
    namesake_date_of_birth: float = 0.5
    """Per namesake citizen: born one slip from the ordered person (a day apart, or day and
    month exchanged), and their first record that writes a date of birth writes the ordered
    person's instead (error kind ``namesake_date_of_birth``)."""
    asylum_after_order: float = 0.05
    """Per person with a final removal order made at least 75 days before the reference
    date: an asylum application filed after the order, pending at the reference date."""

    @classmethod
    def none(cls) -> HardCases:
        """No planted hard cases (those that arise by themselves remain)."""
        return cls(**{f.name: 0.0 for f in fields(cls)})


class HardCasePlanter:
    """Plants the hard cases of one chunk as its households are drawn.

    After each household's histories are drawn, :meth:`consider` reopens some removal
    orders with an asylum application and queues some ordered persons for a namesake;
    :meth:`next_namesake` hands the chunk's next household to a queued one. ``misdated``
    tells the garbler which person's next written date of birth is another's.
    """

    def __init__(self, rng: random.Random, reference_date: dt.date, rates: HardCases) -> None:
        self.rng = rng
        self.reference_date = reference_date
        self.knobs = {f.name: Knob(f.name, getattr(rates, f.name)) for f in fields(HardCases)}
        self.misdated: dict[str, dt.date] = {}
        self._waiting: deque[tuple[Person, dt.date, bool]] = deque()

    def _hit(self, kind: str) -> bool:
        """Decide one eligible person; a rate of zero draws nothing, leaving the world as is."""
        knob = self.knobs[kind]
        knob.eligible += 1
        if knob.probability > 0 and self.rng.random() < knob.probability:
            knob.applied += 1
            return True
        return False

    def consider(self, members: list[Person]) -> None:
        ref = self.reference_date
        for person in members:
            if person.status_on(ref) != ORDERED:
                continue
            ordered = next(p.since for p in person.statuses if p.status == ORDERED)
            earliest = plus_days(ordered, FILED_AFTER_ORDER)
            latest = plus_days(ref, -FILED_BEFORE_REFERENCE)
            if earliest <= latest and self._hit("asylum_after_order"):
                file_asylum_after_order(person, day_between(self.rng, earliest, latest))
                continue
            if person.age_on(ref) >= NAMESAKE_MIN_AGE and self._hit("namesake_citizen"):
                slipped = self._hit("namesake_date_of_birth")
                self._waiting.append((person, self._namesake_birthday(person, slipped), slipped))

    def next_namesake(self) -> tuple[Person, dt.date] | None:
        """The ordered person the next household is a namesake of, and the namesake's birthday."""
        if not self._waiting:
            return None
        person, born, _ = self._waiting[0]
        return person, born

    def placed(self, namesake: Person) -> None:
        """The queued namesake is now ``namesake``; a slipped one gets its misdated record."""
        person, _, slipped = self._waiting.popleft()
        if slipped:
            self.misdated[namesake.entity_id] = person.date_of_birth

    def _namesake_birthday(self, person: Person, slipped: bool) -> dt.date:
        """One slip from the ordered person's date of birth, or another day of the same year."""
        born = person.date_of_birth
        if slipped:
            near = [d for d in (plus_days(born, -1), plus_days(born, 1)) if d.year == born.year]
            if can_swap_day_month(born):
                near.append(swap_day_month(born))
            return self.rng.choice(near)
        day = born
        while day == born:
            day = day_between(self.rng, dt.date(born.year, 1, 1), dt.date(born.year, 12, 31))
        return day

    def log(self) -> ErrorLog:
        """What was planted; a namesake still queued when the chunk filled up was not."""
        for _, _, slipped in self._waiting:
            self.knobs["namesake_citizen"].applied -= 1
            self.knobs["namesake_date_of_birth"].eligible -= 1
            self.knobs["namesake_date_of_birth"].applied -= slipped
        self._waiting.clear()
        return log_of(list(self.knobs.values()))
