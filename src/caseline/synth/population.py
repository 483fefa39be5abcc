"""Households and the people in them: names, ages, homes over time, marriages and jobs.

Households carry the hard cases of identity: families sharing an address and a surname,
twins, a son named after his father (Jr./Sr.), women whose surname changes at marriage,
and, through the gazetteer's hub places, unrelated people with the same common name nearby.
"""

from __future__ import annotations

import datetime as dt
import random
from functools import cache

from faker import Faker

from caseline.synth.calendar import HISTORY_START, birthday, day_between, plus_days, poisson_times
from caseline.synth.draws import randint
from caseline.synth.model import Job, LegalName, Person, Residence
from caseline.synth.names import GROUP_SHARES, GROUPS, feminine_surname, pools
from caseline.synth.places import gazetteer

HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6)
HOUSEHOLD_SIZE_WEIGHTS = (0.28, 0.30, 0.17, 0.15, 0.07, 0.03)
MOVES_PER_YEAR = {True: 0.22, False: 0.06}  # renters move about four times as often as owners
JOB_CHANGES_PER_YEAR = 0.2
# Share of adults born abroad, per naming convention (children born here are citizens).
FOREIGN_BORN = {
    "anglo": 0.06, "hispanic": 0.55, "east_asian": 0.65, "vietnamese": 0.6, "arabic": 0.7,
    "south_asian": 0.72, "slavic": 0.62, "haitian_french": 0.65,
}  # fmt: skip
# Probability that a spouse takes the other's family name at marriage, per convention.
TAKES_SPOUSE_NAME = {
    "anglo": 0.8, "hispanic": 0.1, "east_asian": 0.3, "vietnamese": 0.1, "arabic": 0.2,
    "south_asian": 0.6, "slavic": 0.9, "haitian_french": 0.6,
}  # fmt: skip
JUNIOR_RATE = {"anglo": 0.2, "hispanic": 0.08}  # sons named after their fathers
JUNIOR_RATE_OTHERS = 0.02  # in the other naming groups
TWIN_RATE = 0.04
HEAD_AGE_BANDS = ((22, 34), (35, 49), (50, 64), (65, 79), (80, 90))
HEAD_AGE_WEIGHTS = (0.25, 0.30, 0.26, 0.15, 0.04)
COMPOUND_GIVEN = {"hispanic": 0.3, "haitian_french": 0.35}  # José Luis, Jean-Baptiste
COUNTRIES = {
    "anglo": ("Canada", "United Kingdom", "Ireland", "Jamaica", "Australia"),
    "hispanic": ("Mexico", "Guatemala", "El Salvador", "Honduras", "Colombia", "Venezuela",
                 "Dominican Republic", "Cuba", "Ecuador", "Peru"),
    "east_asian": ("China", "South Korea", "Japan", "Taiwan"),
    "vietnamese": ("Vietnam",),
    "arabic": ("Algeria", "Morocco", "Egypt", "Syria", "Yemen", "Iraq", "Sudan", "Jordan"),
    "south_asian": ("India", "Pakistan", "Bangladesh", "Nepal", "Afghanistan"),
    "slavic": ("Russia", "Ukraine", "Belarus", "Poland"),
    "haitian_french": ("Haiti", "France", "Canada"),
}  # fmt: skip


@cache
def _employers() -> tuple[str, ...]:
    fake = Faker("en_US")
    fake.seed_instance(4242)
    return tuple(dict.fromkeys(fake.company() for _ in range(3000)))


class HouseholdBuilder:
    """Builds households one at a time for one chunk of the population."""

    def __init__(self, rng: random.Random, reference_date: dt.date, salt: int) -> None:
        self.rng = rng
        self.reference_date = reference_date
        self.salt = salt
        self.gazetteer = gazetteer()

    def household(self, household_id: str, first_index: int, max_size: int) -> list[Person]:
        rng = self.rng
        group = rng.choices(GROUPS, weights=GROUP_SHARES)[0]
        size = min(max_size, rng.choices(HOUSEHOLD_SIZES, weights=HOUSEHOLD_SIZE_WEIGHTS)[0])
        head = self._adult(
            group,
            household_id,
            first_index,
            role="head" if size > 1 else "single",
            sex=rng.choice("MF"),
            age=self._head_age(),
        )
        members = [head]
        if size > 1 and rng.random() < 0.8:
            members.append(self._spouse(head, first_index + 1))
        while len(members) < size:
            members.append(self._child_or_relative(members, first_index + len(members)))
        arrival = head.entered_on if head.entered_on and head.entered_on > HISTORY_START else None
        self._align_arrivals(members, arrival)
        renter = rng.random() < (0.75 if arrival else 0.42)
        for person in members:
            person.renter = renter
        self._homes(members, arrival)
        for person in members:
            self._marriage(person)
            self._jobs(person)
        return members

    def namesake(
        self, household_id: str, index: int, of: Person, date_of_birth: dt.date
    ) -> list[Person]:
        """A household of one: a US-born citizen with ``of``'s given and family name and sex,
        born on ``date_of_birth``, with a middle name, second surname and home of their own."""
        rng = self.rng
        legal = of.name_on(self.reference_date)
        second = pools(of.group).family.draw(rng) if of.group == "hispanic" else None
        name = LegalName(legal.given, self._middle(of.group, of.sex), legal.family, second, None)
        person = self._new_person(
            of.group, household_id, index, "single", of.sex, date_of_birth, name, False
        )
        person.renter = rng.random() < 0.42
        self._homes([person], None)
        self._jobs(person)
        return [person]

    def _head_age(self) -> int:
        """Householders' ages, roughly as in the US: most between 25 and 64."""
        low, high = self.rng.choices(HEAD_AGE_BANDS, weights=HEAD_AGE_WEIGHTS)[0]
        return randint(self.rng, low, high)

    # -- people ---------------------------------------------------------------------------

    def _new_person(
        self,
        group: str,
        household_id: str,
        index: int,
        role: str,
        sex: str,
        date_of_birth: dt.date,
        name: LegalName,
        foreign_born: bool,
    ) -> Person:
        rng = self.rng
        country = rng.choice(COUNTRIES[group]) if foreign_born else "United States"
        return Person(
            index=index,
            entity_id=f"E{index:08d}",
            household_id=household_id,
            group=group,
            sex=sex,
            role=role,
            date_of_birth=date_of_birth,
            names=[name],
            renter=False,
            us_born=not foreign_born,
            country_of_birth=country,
            citizenship="United States" if not foreign_born else country,
        )

    def _given(self, group: str, sex: str) -> str:
        group_pools = pools(group)
        pool = group_pools.given_male if sex == "M" else group_pools.given_female
        given = pool.draw(self.rng)
        if self.rng.random() < COMPOUND_GIVEN.get(group, 0.0):
            second = pool.draw(self.rng)
            if second != given:
                given = f"{given}-{second}" if group == "haitian_french" else f"{given} {second}"
        return given

    def _middle(self, group: str, sex: str) -> str | None:
        group_pools = pools(group)
        if group_pools.middle is not None:
            return group_pools.middle.draw(self.rng)  # Vietnamese: Van, Thi, Duc ...
        if group in ("anglo", "haitian_french", "slavic") and self.rng.random() < 0.65:
            return self._given(group, sex).split("-")[0].split(" ")[0]
        return None

    def _family(self, group: str, sex: str) -> str:
        family = pools(group).family.draw(self.rng)
        if group == "arabic" and self.rng.random() < 0.2:
            family = f"El {family}"  # a surname with an article, written El-, Al-, or left off
        return feminine_surname(family) if group == "slavic" and sex == "F" else family

    def _adult(
        self, group: str, household_id: str, index: int, role: str, sex: str, age: int
    ) -> Person:
        rng = self.rng
        second = pools(group).family.draw(rng) if group == "hispanic" else None
        name = LegalName(
            self._given(group, sex),
            self._middle(group, sex),
            self._family(group, sex),
            second,
            None,
        )
        person = self._new_person(
            group,
            household_id,
            index,
            role,
            sex,
            birthday(rng, self.reference_date, age),
            name,
            rng.random() < FOREIGN_BORN[group],
        )
        if not person.us_born:
            earliest = max(plus_days(person.date_of_birth, 365 * 16), dt.date(1985, 1, 1))
            person.entered_on = (
                day_between(rng, HISTORY_START, plus_days(self.reference_date, -60))
                if rng.random() < 0.3
                else day_between(rng, earliest, plus_days(HISTORY_START, -1))
            )
        return person

    def _spouse(self, head: Person, index: int) -> Person:
        rng = self.rng
        sex = "F" if head.sex == "M" else "M"
        if rng.random() < 0.03:
            sex = head.sex
        age = max(20, head.age_on(self.reference_date) + randint(rng, -6, 6))
        spouse = self._adult(head.group, head.household_id, index, "spouse", sex, age)
        if sex == "F" and head.sex == "M" and rng.random() < TAKES_SPOUSE_NAME[head.group]:
            old = spouse.names[0]
            family = (
                feminine_surname(head.names[0].family)
                if head.group == "slavic"
                else head.names[0].family
            )
            spouse.names[0] = LegalName(old.given, old.middle, family, None, None)
        if not head.us_born and rng.random() < 0.85:
            spouse.us_born, spouse.country_of_birth = False, head.country_of_birth
            spouse.citizenship, spouse.entered_on = head.citizenship, head.entered_on
        return spouse

    def _child_or_relative(self, members: list[Person], index: int) -> Person:
        rng = self.rng
        head = members[0]
        father = next((m for m in members[:2] if m.sex == "M"), None)
        mother = next((m for m in members[:2] if m.sex == "F"), None)
        head_age = head.age_on(self.reference_date)
        if head_age < 36 or rng.random() < 0.85:
            return self._child(members, index, father, mother)
        relative = self._adult(
            head.group,
            head.household_id,
            index,
            "relative",
            rng.choice("MF"),
            randint(rng, 18, head_age),
        )
        old = relative.names[0]
        family = (
            feminine_surname(head.names[0].family)
            if head.group == "slavic" and relative.sex == "F"
            else head.names[0].family
        )
        relative.names[0] = LegalName(old.given, old.middle, family, old.second_family, None)
        return relative

    def _child(
        self, members: list[Person], index: int, father: Person | None, mother: Person | None
    ) -> Person:
        rng = self.rng
        head = members[0]
        group = head.group
        parent = father or mother or head
        sex = rng.choice("MF")
        siblings = [m for m in members if m.role == "child"]
        youngest_parent_age = min(
            p.age_on(self.reference_date) for p in (father, mother, head) if p
        )
        if siblings and rng.random() < TWIN_RATE:
            twin = siblings[-1]
            date_of_birth = twin.date_of_birth
        else:
            twin = None
            date_of_birth = birthday(
                rng, self.reference_date, randint(rng, 0, max(0, min(30, youngest_parent_age - 18)))
            )
        family = parent.names[0].family
        if group == "slavic" and sex == "F":
            family = feminine_surname(family if father is None else father.names[0].family)
        second = None
        if group == "hispanic":
            family = (father or head).names[0].family
            second = mother.names[0].family if mother else (father or head).names[0].second_family
        given = self._given(group, sex)
        suffix = None
        if (
            father
            and sex == "M"
            and not any(m.names[0].suffix == "JR" for m in members)
            and rng.random() < JUNIOR_RATE.get(group, JUNIOR_RATE_OTHERS)
        ):
            given, suffix = father.names[0].given, "JR"
            father.names[0] = LegalName(
                father.names[0].given,
                father.names[0].middle,
                father.names[0].family,
                father.names[0].second_family,
                "SR",
            )
        elif twin is not None and given == twin.names[0].given:
            given = self._given(group, sex)
        name = LegalName(given, self._middle(group, sex), family, second, suffix)
        born_abroad = not parent.us_born and (
            parent.entered_on is None or date_of_birth < parent.entered_on
        )
        child = self._new_person(
            group, head.household_id, index, "child", sex, date_of_birth, name, born_abroad
        )
        if born_abroad:
            child.country_of_birth, child.citizenship = parent.country_of_birth, parent.citizenship
            child.entered_on = parent.entered_on
        if twin is not None:
            child.twin_of = twin.entity_id
            twin.twin_of = twin.twin_of or child.entity_id  # a triplet keeps its first link
        return child

    def _align_arrivals(self, members: list[Person], arrival: dt.date | None) -> None:
        """Everyone who came with a household that arrived in the window arrived with it."""
        if arrival is None:
            return
        for person in members:
            if not person.us_born:
                person.entered_on = max(arrival, person.date_of_birth)

    # -- homes, marriages, jobs -----------------------------------------------------------

    def _homes(self, members: list[Person], arrival: dt.date | None) -> None:
        rng = self.rng
        start = arrival or day_between(rng, dt.date(2003, 1, 1), HISTORY_START)
        # A household's home begins no earlier than its head's 18th birthday.
        start = max(start, plus_days(members[0].date_of_birth, 365.25 * 18))
        shared = self._residence_history(members[0].group, start, members[0].renter)
        for person in members:
            moved_out = None
            if person.role == "child" and rng.random() < 0.35:
                leaves = plus_days(person.date_of_birth, 365.25 * rng.uniform(18, 26))
                if max(start, HISTORY_START) < leaves < plus_days(self.reference_date, -30):
                    moved_out = leaves
            begin = max(start, person.date_of_birth)
            person.residences = self._clip(shared, begin, moved_out)
            person.left_home_on = moved_out
            if moved_out is not None:
                person.residences += self._residence_history(person.group, moved_out, renter=True)

    def _residence_history(self, group: str, start: dt.date, renter: bool) -> list[Residence]:
        rng = self.rng
        place = self.gazetteer.draw_place(rng, group)
        moves = poisson_times(rng, start, self.reference_date, MOVES_PER_YEAR[renter])
        residences: list[Residence] = []
        moved_in = start
        for move in [*moves, None]:
            residences.append(
                Residence(self.gazetteer.draw_address(rng, place, renter=renter), moved_in, move)
            )
            if move is not None:
                moved_in = move
                if rng.random() < 0.3:  # most moves are local
                    place = self.gazetteer.draw_place(rng, group)
        return residences

    @staticmethod
    def _clip(history: list[Residence], begin: dt.date, end: dt.date | None) -> list[Residence]:
        clipped = []
        for residence in history:
            moved_out = residence.moved_out
            if end is not None and (moved_out is None or moved_out > end):
                moved_out = end
            moved_in = max(residence.moved_in, begin)
            if moved_out is None or moved_in < moved_out:
                clipped.append(Residence(residence.address, moved_in, moved_out))
        return clipped

    def _marriage(self, person: Person) -> None:
        """Single women may marry in the window and take a new surname from that day."""
        rng = self.rng
        if person.role != "single" or person.sex != "F":
            return
        age_2015 = person.age_on(HISTORY_START)
        if (
            not 20 <= age_2015 <= 45
            or rng.random() >= 0.3
            or rng.random() >= TAKES_SPOUSE_NAME[person.group]
        ):
            return
        married = day_between(rng, HISTORY_START, plus_days(self.reference_date, -30))
        old = person.names[0]
        new_family = self._family(person.group, "F")
        if new_family != old.family:
            person.names.append(
                LegalName(old.given, old.middle, new_family, None, None, since=married)
            )

    def _jobs(self, person: Person) -> None:
        rng = self.rng
        start = max(HISTORY_START, plus_days(person.date_of_birth, 365.25 * 18))
        end = min(self.reference_date, plus_days(person.date_of_birth, 365.25 * 70))
        if start >= end or rng.random() >= 0.75:
            return
        employers = _employers()
        changes = [start, *poisson_times(rng, start, end, JOB_CHANGES_PER_YEAR)]
        for i, begin in enumerate(changes):
            finish = changes[i + 1] if i + 1 < len(changes) else None
            person.jobs.append(Job(employers[rng.randrange(len(employers))], begin, finish))
