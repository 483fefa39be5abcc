"""Immigration status over time, and the events each history leaves in the sources.

A status history is a list of periods; events are what an agency would record along the
way (entries and exits, applications and decisions, hearings and orders). The status at the
reference date is the truth that case guards are measured against.
"""

from __future__ import annotations

import datetime as dt
import random

from caseline.synth import identifiers
from caseline.synth.calendar import HISTORY_START, day_between, plus_days, poisson_times
from caseline.synth.draws import randint
from caseline.synth.model import Event, Person, Residence, StatusPeriod

STATUSES = (
    "citizen_birth", "citizen_naturalised", "permanent_resident", "visa_valid", "visa_expired",
    "pending_asylum", "pending_adjustment", "temporary_protected", "final_removal_order",
    "voluntary_departure_pending", "voluntary_departure_departed", "voluntary_departure_overdue",
)  # fmt: skip
# Status at the reference date of people born abroad, by how long ago they arrived.
_LONG_AGO = {
    "citizen_naturalised": 0.45, "permanent_resident": 0.28, "visa_expired": 0.07,
    "pending_adjustment": 0.04, "temporary_protected": 0.05, "final_removal_order": 0.04,
    "voluntary_departure": 0.04, "pending_asylum": 0.03,
}  # fmt: skip
_RECENT = {
    "citizen_naturalised": 0.06, "permanent_resident": 0.22, "visa_valid": 0.15,
    "visa_expired": 0.10, "pending_asylum": 0.15, "pending_adjustment": 0.08,
    "temporary_protected": 0.07, "final_removal_order": 0.08, "voluntary_departure": 0.09,
}  # fmt: skip
TPS_GROUPS = frozenset({"hispanic", "haitian_french", "arabic", "south_asian", "slavic"})
VISA_TYPES = ("F1", "H1B", "J1", "B2", "L1")
PORTS = ("JFK", "MIA", "LAX", "ORD", "IAH", "ATL", "SFO", "EWR", "SYS", "ELP", "LRD", "BOS")
TRIPS_PER_YEAR = {True: 0.03, False: 0.25}  # US-born travel abroad rarely; immigrants visit home


class StatusHistorian:
    """Gives each person a status history and the events that go with it."""

    def __init__(self, rng: random.Random, reference_date: dt.date, salt: int) -> None:
        self.rng = rng
        self.reference_date = reference_date
        self.salt = salt

    def history(self, person: Person, head: Person) -> None:
        if person.us_born:
            person.statuses = [StatusPeriod("citizen_birth", person.date_of_birth, None)]
            person.ssn = identifiers.ssn(person.index, self.salt)
        else:
            assert person.entered_on is not None
            category = self._category(person, head)
            self._foreign_born(person, category)
            person.a_number = (
                identifiers.a_number(person.index, self.salt) if category != "visa_valid" else None
            )
        self._identifiers(person)
        self._trips(person)
        if person.departed_on is not None:
            self._leave(person)

    def _category(self, person: Person, head: Person) -> str:
        rng = self.rng
        if person is not head and not head.us_born and person.age_on(self.reference_date) < 18:
            inherited = head.statuses[-1].status if head.statuses else None
            if (
                inherited
                and inherited not in ("citizen_birth",)
                and not inherited.startswith("voluntary")
            ):
                return "permanent_resident" if inherited == "citizen_naturalised" else inherited
        assert person.entered_on is not None
        table = _LONG_AGO if person.entered_on < dt.date(2010, 1, 1) else _RECENT
        options = [
            (s, w)
            for s, w in table.items()
            if s != "temporary_protected" or person.group in TPS_GROUPS
        ]
        category = rng.choices([s for s, _ in options], weights=[w for _, w in options])[0]
        if (
            category == "citizen_naturalised"
            and plus_days(person.entered_on, 365 * 5.5) > self.reference_date
        ):
            category = "permanent_resident"
        if category == "visa_valid" and plus_days(person.entered_on, 365 * 6) < self.reference_date:
            category = "visa_expired"  # student and work visas rarely last more than six years
        if (
            category in ("final_removal_order", "voluntary_departure")
            and plus_days(person.entered_on, 400) > self.reference_date
        ):
            category = "pending_asylum"  # proceedings take longer than this person has been here
        return category

    def _foreign_born(self, person: Person, category: str) -> None:
        rng = self.rng
        ref = self.reference_date
        entered = person.entered_on
        assert entered is not None
        last = plus_days(ref, -45)
        periods: list[StatusPeriod] = []
        events: list[Event] = []
        visa = rng.choice(VISA_TYPES)

        def status_event(kind: str, benefit: str, on: dt.date) -> None:
            events.append(Event("status", on, {"event_type": kind, "benefit": benefit}))

        events.append(Event("entry", entered, {"port": rng.choice(PORTS)}))
        start_status = (
            "visa_valid"
            if category
            in (
                "visa_valid",
                "visa_expired",
                "pending_adjustment",
                "citizen_naturalised",
                "permanent_resident",
            )
            else "entered_without_status"
        )
        if start_status == "visa_valid":
            status_event("VISA_ISSUED", visa, plus_days(entered, -randint(rng, 10, 120)))
        periods.append(StatusPeriod(start_status, entered, None))

        if category in ("citizen_naturalised", "permanent_resident"):
            granted = day_between(rng, plus_days(entered, 60), plus_days(entered, 365 * 4))
            if category == "citizen_naturalised":
                # Five years a permanent resident, then citizen; the category check left room.
                naturalised = day_between(rng, plus_days(entered, 365 * 5), last)
                granted = min(granted, plus_days(naturalised, -365 * 5))
                granted = max(granted, plus_days(entered, 30))
            granted = min(granted, last)
            status_event(
                "APPLICATION_FILED",
                "ADJUSTMENT",
                max(entered, plus_days(granted, -randint(rng, 180, 700))),
            )
            status_event("GRANTED", "PERMANENT_RESIDENCE", granted)
            periods.append(StatusPeriod("permanent_resident", granted, None))
            if category == "citizen_naturalised":
                status_event(
                    "APPLICATION_FILED",
                    "NATURALISATION",
                    plus_days(naturalised, -randint(rng, 120, 400)),
                )
                status_event("GRANTED", "NATURALISATION", naturalised)
                periods.append(StatusPeriod("citizen_naturalised", naturalised, None))
                person.citizenship = "United States"
        elif category == "visa_valid":
            pass
        elif category == "visa_expired":
            expired = day_between(rng, plus_days(entered, 90), last)
            periods.append(StatusPeriod("visa_expired", expired, None))
        elif category == "pending_adjustment":
            filed = day_between(rng, max(entered, HISTORY_START), last)
            status_event("APPLICATION_FILED", "ADJUSTMENT", filed)
            periods.append(StatusPeriod("pending_adjustment", filed, None))
        elif category == "pending_asylum":
            filed = min(day_between(rng, plus_days(entered, 20), plus_days(entered, 365)), last)
            status_event("APPLICATION_FILED", "ASYLUM", filed)
            periods.append(StatusPeriod("pending_asylum", filed, None))
            if rng.random() < 0.6:
                events += self._hearings(plus_days(filed, randint(rng, 60, 400)), "CONTINUED")
        elif category == "temporary_protected":
            registered = day_between(rng, max(entered, HISTORY_START), last)
            for day in [registered, *poisson_times(rng, registered, ref, 365.25 / 548)]:
                status_event("REGISTERED", "TPS", day)
            periods.append(StatusPeriod("temporary_protected", registered, None))
        elif category == "final_removal_order":
            earliest_order = max(plus_days(entered, 120), HISTORY_START)
            if rng.random() < 0.5:
                denied = day_between(rng, plus_days(entered, 30), plus_days(last, -200))
                status_event(
                    "APPLICATION_FILED", "ASYLUM", plus_days(denied, -randint(rng, 100, 500))
                )
                status_event("DENIED", "ASYLUM", denied)
                # The claim is decided before the order that follows its denial.
                earliest_order = max(earliest_order, plus_days(denied, 30))
            ordered = day_between(rng, earliest_order, last)
            hearings = self._hearings(ordered, "REMOVAL_ORDERED")
            events += hearings
            periods.append(StatusPeriod("in_proceedings", hearings[0].on, None))
            periods.append(StatusPeriod("final_removal_order", ordered, None))
        elif category == "voluntary_departure":
            self._voluntary_departure(person, entered, events, periods)
        person.events = sorted(events, key=lambda e: e.on)
        person.statuses = _closed(sorted(periods, key=lambda p: p.since))

    def _voluntary_departure(
        self, person: Person, entered: dt.date, events: list[Event], periods: list[StatusPeriod]
    ) -> None:
        rng = self.rng
        ref = self.reference_date
        granted = day_between(rng, max(plus_days(entered, 150), HISTORY_START), plus_days(ref, -30))
        deadline = plus_days(granted, rng.choice((60, 90, 120)))
        hearings = self._hearings(granted, "VOLUNTARY_DEPARTURE_GRANTED", deadline=deadline)
        events += hearings
        periods.append(StatusPeriod("in_proceedings", hearings[0].on, None))
        periods.append(StatusPeriod("voluntary_departure_pending", granted, None))
        if deadline >= ref:
            return
        if rng.random() < 0.65:  # departed in time, and the exit was recorded
            departed = day_between(rng, plus_days(granted, 5), deadline)
            events.append(
                Event(
                    "exit", departed, {"port": rng.choice(PORTS), "reason": "VOLUNTARY_DEPARTURE"}
                )
            )
            periods.append(StatusPeriod("voluntary_departure_departed", departed, None))
            person.departed_on = departed
        else:
            periods.append(StatusPeriod("voluntary_departure_overdue", deadline, None))

    def _hearings(
        self, decided: dt.date, outcome: str, deadline: dt.date | None = None
    ) -> list[Event]:
        """Master hearings continued a few times, then the decision (or another continuance)."""
        rng = self.rng
        case = f"{rng.randrange(10**8):08d}"
        first = plus_days(decided, -randint(rng, 90, 900))
        days: list[dt.date] = []
        for day in sorted(day_between(rng, first, decided) for _ in range(randint(rng, 0, 3))):
            # A continued hearing is reset weeks later, not the next day.
            if (decided - day).days >= 21 and (not days or (day - days[-1]).days >= 21):
                days.append(day)
        events = [
            Event("hearing", d, {"case": case, "hearing_type": "MASTER", "outcome": "CONTINUED"})
            for d in days
            if d >= dt.date(2013, 1, 1)
        ]
        detail = {
            "case": case,
            "hearing_type": "INDIVIDUAL" if outcome != "CONTINUED" else "MASTER",
            "outcome": outcome,
        }
        if deadline is not None:
            detail["departure_deadline"] = deadline.isoformat()
        if decided <= self.reference_date:
            events.append(Event("hearing", decided, detail))
        return events

    def _identifiers(self, person: Person) -> None:
        rng = self.rng
        status = person.statuses[-1].status
        work_authorised = status in (
            "citizen_naturalised",
            "permanent_resident",
            "temporary_protected",
        ) or (
            status in ("visa_valid", "pending_adjustment", "pending_asylum") and rng.random() < 0.5
        )
        if person.ssn is None and work_authorised:
            person.ssn = identifiers.ssn(person.index, self.salt)
        if person.ssn is None and rng.random() < 0.6:
            person.itin = identifiers.itin(person.index, self.salt)
        if not person.us_born or rng.random() < 0.3:
            issued = day_between(rng, dt.date(2006, 1, 1), dt.date(2014, 12, 31))
            person.passports = [(identifiers.passport(person.index, self.salt), issued)]
            renewed = plus_days(issued, 365.25 * 10)
            if renewed < self.reference_date:
                person.passports.append(
                    (identifiers.passport(person.index, self.salt, version=1), renewed)
                )

    def _trips(self, person: Person) -> None:
        rng = self.rng
        status = person.statuses[-1].status
        if (
            status
            not in (
                "citizen_birth",
                "citizen_naturalised",
                "permanent_resident",
                "visa_valid",
                "temporary_protected",
            )
            or person.age_on(self.reference_date) < 18
        ):
            return
        start = max(HISTORY_START, person.entered_on or HISTORY_START)
        for left in poisson_times(
            rng, start, plus_days(self.reference_date, -70), TRIPS_PER_YEAR[person.us_born]
        ):
            port = rng.choice(PORTS)
            person.events.append(Event("exit", left, {"port": port, "reason": "TRAVEL"}))
            person.events.append(
                Event("entry", plus_days(left, randint(rng, 7, 60)), {"port": port})
            )
        person.events.sort(key=lambda e: e.on)

    @staticmethod
    def _leave(person: Person) -> None:
        departed = person.departed_on
        assert departed is not None
        kept: list[Residence] = []
        for residence in person.residences:
            if residence.moved_in >= departed:
                continue
            if residence.moved_out is None or residence.moved_out > departed:
                residence = Residence(residence.address, residence.moved_in, departed)
            kept.append(residence)
        person.residences = kept


def file_asylum_after_order(person: Person, filed: dt.date) -> None:
    """An asylum application filed after the person's removal order, pending from ``filed``
    (a new claim that stays the order): its event, and the status history that follows."""
    event = Event("status", filed, {"event_type": "APPLICATION_FILED", "benefit": "ASYLUM"})
    person.events = sorted([*person.events, event], key=lambda e: e.on)
    periods = [p for p in person.statuses if p.since <= filed]
    person.statuses = _closed([*periods, StatusPeriod("pending_asylum", filed, None)])


def _closed(periods: list[StatusPeriod]) -> list[StatusPeriod]:
    """Each period ends where the next begins."""
    return [
        StatusPeriod(p.status, p.since, periods[i + 1].since if i + 1 < len(periods) else None)
        for i, p in enumerate(periods)
    ]
