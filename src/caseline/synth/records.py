"""What each source records of a person, from their history, with its own timing and errors."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from caseline.synth import identifiers
from caseline.synth.calendar import HISTORY_START, plus_days
from caseline.synth.draws import randint
from caseline.synth.errors import ErrorRates, Garbler, Knobs
from caseline.synth.model import Person, Residence
from caseline.synth.places import Address
from caseline.synth.render import (
    SourceProfile,
    write_date_of_birth,
    write_identifier,
    write_name,
    written_address,
)
from caseline.synth.tables import ChunkTables

VEHICLE_MAKES = (
    "FORD",
    "TOYOTA",
    "HONDA",
    "CHEVROLET",
    "NISSAN",
    "HYUNDAI",
    "KIA",
    "JEEP",
    "DODGE",
)
LICENCE_YEARS = 8


def source_profiles(rates: ErrorRates) -> dict[str, SourceProfile]:
    """Each source's habits, with fresh knobs. Court files are scanned (more OCR errors, stale
    addresses, dates of birth often missing); border records are typed from passports (upper
    case ASCII, family-name-first mix-ups, a date of birth almost always present); tax
    addresses are current because filers write them each year."""
    return {
        "motor_vehicle": SourceProfile("motor_vehicle", Knobs(rates), writes_suffix=0.7),
        "tax": SourceProfile(
            "tax",
            Knobs(rates.scaled(stale_address=0.3)),
            upper=True,
            ascii_only=True,
            writes_suffix=0.6,
        ),
        "utility": SourceProfile(
            "utility", Knobs(rates.scaled(keyboard_typo=1.5, nickname=1.5)), writes_suffix=0.2
        ),
        "entry_exit": SourceProfile(
            "entry_exit",
            Knobs(
                rates.scaled(
                    name_order_swap=2.0,
                    nickname=0.0,
                    missing_middle_name=0.5,
                    missing_date_of_birth=0.2,
                )
            ),
            upper=True,
            ascii_only=True,
            writes_suffix=0.0,
        ),
        "immigration_status": SourceProfile(
            "immigration_status", Knobs(rates.scaled(missing_date_of_birth=0.3)), writes_suffix=0.3
        ),
        "court": SourceProfile(
            "court",
            Knobs(rates.scaled(ocr_typo=3.0, stale_address=2.0, missing_date_of_birth=4.0)),
            upper=True,
            writes_suffix=0.3,
        ),
    }


@dataclass(slots=True)
class RecordWriter:
    """Writes the records of one chunk into its tables, counting keys and errors."""

    rng: random.Random
    garbler: Garbler
    tables: ChunkTables
    profiles: dict[str, SourceProfile]
    reference_date: dt.date
    chunk: int
    salt: int
    ssn_pool: list[str] = field(default_factory=list)
    _counter: int = 0

    def _key(self, prefix: str) -> str:
        self._counter += 1
        return identifiers.record_key(prefix, self.chunk, self._counter, self.salt)

    def _emit(self, source: str, key: str, person: Person, row: dict[str, str]) -> None:
        self.tables.rows[source].append(row)
        self.tables.truth.append(
            (source, key, person.entity_id, person.group, self.garbler.take_applied())
        )

    def _in_window(self, day: dt.date) -> bool:
        return HISTORY_START <= day <= self.reference_date

    # -- motor vehicle ------------------------------------------------------------------------

    def motor_vehicle(self, person: Person) -> None:
        rng = self.rng
        status = person.statuses[-1].status if person.statuses else ""
        licensed = 0.88 if status.startswith("citizen") or status == "permanent_resident" else 0.45
        if rng.random() >= licensed:
            return
        eligible = plus_days(person.date_of_birth, 365.25 * 16)
        if person.entered_on is not None:
            eligible = max(eligible, plus_days(person.entered_on, randint(rng, 30, 400)))
        first = plus_days(eligible, randint(rng, 0, 3 * 365))
        if first > self.reference_date:
            return
        home = person.residence_on(first) or (person.residences[0] if person.residences else None)
        state = home.address.state if home else "TX"
        person.licence_number = identifiers.licence(person.index, self.salt, state)
        events = [(first, "ISSUE")]
        day = plus_days(first, 365.25 * LICENCE_YEARS)
        while day <= self.reference_date:
            events.append((day, "RENEWAL"))
            day = plus_days(day, 365.25 * LICENCE_YEARS)
        events += [
            (plus_days(r.moved_in, randint(rng, 5, 90)), "ADDRESS_CHANGE")
            for r in person.residences[1:]
            if rng.random() < 0.35
        ]
        vehicle = (
            (f"{rng.randrange(10**6):06d}", rng.choice(VEHICLE_MAKES))
            if rng.random() < 0.6
            else None
        )
        for on, transaction in sorted(events):
            if self._in_window(on) and person.in_country_on(on):
                self._motor_vehicle_record(person, on, transaction, vehicle)

    def _motor_vehicle_record(
        self, person: Person, on: dt.date, transaction: str, vehicle: tuple[str, str] | None
    ) -> None:
        profile = self.profiles["motor_vehicle"]
        g = self.garbler
        name = write_name(g, person, person.name_on(on), profile)
        dob = write_date_of_birth(g, person, profile)
        # A renewal by mail keeps the address on file: stale if the person moved since.
        address = written_address(
            g, person, on, profile, may_be_stale=transaction != "ADDRESS_CHANGE"
        )
        key = self._key("DMV")
        self._emit(
            "motor_vehicle",
            key,
            person,
            {
                "licence_number": write_identifier(g, person.licence_number, profile),
                "first_name": name.given,
                "middle_name": name.middle,
                "last_name": name.family,
                "suffix": name.suffix,
                "dob": dob.isoformat() if dob else "",
                "sex": person.sex,
                **_address_parts(address),
                "issued_on": on.isoformat(),
                "expires_on": plus_days(on, 365.25 * LICENCE_YEARS).isoformat(),
                "transaction": key,
                "vehicle_plate": vehicle[0] if vehicle else "",
                "vehicle_make": vehicle[1] if vehicle else "",
                "vehicle_year": str(on.year - randint(self.rng, 0, 12)) if vehicle else "",
            },
        )

    # -- tax ------------------------------------------------------------------------------------

    def tax(self, person: Person) -> None:
        """A filing for most years the person was an adult here with an SSN or ITIN."""
        rng = self.rng
        tin = person.ssn or person.itin
        if tin is None:
            return
        # Adult and in the country on 31 December of the tax year.
        first = max(HISTORY_START.year, person.date_of_birth.year + 18)
        last = self.reference_date.year - 1
        if person.entered_on is not None:
            first = max(first, person.entered_on.year)
        if person.departed_on is not None:
            last = min(last, person.departed_on.year - 1)
        employer_in = {}
        for job in person.jobs:  # a later job wins the year it starts
            for year in range(job.start.year, (job.end.year if job.end else last) + 1):
                employer_in[year] = job.employer
        for year in range(first, last + 1):
            employer = employer_in.get(year)
            if rng.random() >= (0.92 if employer else 0.2):
                continue
            filed = plus_days(dt.date(year + 1, 4, 15), -randint(rng, 0, 75))
            if filed <= self.reference_date:
                self._tax_record(person, year, filed, tin, employer or "")

    def _tax_record(
        self, person: Person, year: int, filed: dt.date, tin: str, employer: str
    ) -> None:
        profile = self.profiles["tax"]
        g = self.garbler
        if person.ssn and self.ssn_pool and g.hit(profile.knobs.identifier_reuse):
            tin = self.rng.choice(self.ssn_pool)
        name = write_name(g, person, person.name_on(filed), profile)
        middle = f" {name.middle[0]}" if name.middle else ""
        suffix = f" {name.suffix}" if name.suffix else ""
        dob = write_date_of_birth(g, person, profile)
        address = written_address(g, person, filed, profile)
        key = self._key(f"T{year}-")
        self._emit(
            "tax",
            key,
            person,
            {
                "filing_id": key,
                "tin": write_identifier(g, tin, profile),
                "taxpayer_name": f"{name.family}{suffix}, {name.given}{middle}",
                "date_of_birth": _us_date(dob) if dob else "",
                "employer": employer,
                "address": address.one_line.upper() if address else "",
                "tax_year": str(year),
            },
        )

    # -- utility --------------------------------------------------------------------------------

    def utility(self, holder: Person, residences: list[Residence]) -> None:
        """Accounts of the person who holds the household's accounts at these homes."""
        rng = self.rng
        profile = self.profiles["utility"]
        g = self.garbler
        for residence in residences:
            for _provider in range(1 if rng.random() < 0.7 else 2):
                start = plus_days(residence.moved_in, randint(rng, -10, 20))
                end = None
                if (
                    residence.moved_out is not None and rng.random() >= 0.15
                ):  # some accounts are never closed
                    end = max(
                        plus_days(residence.moved_out, randint(rng, 0, 30)), plus_days(start, 1)
                    )
                if (end is not None and end < HISTORY_START) or start > self.reference_date:
                    continue
                name = write_name(g, holder, holder.name_on(max(start, HISTORY_START)), profile)
                key = self._key("U")
                address = residence.address
                self._emit(
                    "utility",
                    key,
                    holder,
                    {
                        "account_number": key,
                        "customer_name": " ".join(p for p in (name.given, name.family) if p),
                        "service_address": address.line,
                        "service_city": address.city,
                        "service_state": address.state,
                        "service_zip": address.postcode,
                        "service_start": start.isoformat(),
                        "service_end": end.isoformat() if end else "",
                    },
                )

    # -- immigration: border, benefits, court ----------------------------------------------------

    def immigration(self, person: Person) -> None:
        for event in person.events:
            if not self._in_window(event.on):
                continue
            if event.kind in ("entry", "exit"):
                self._border(person, event.kind, event.on, event.detail)
            elif event.kind == "status":
                self._status(person, event.on, event.detail)
            elif event.kind == "hearing":
                self._hearing(person, event.on, event.detail)

    def _border(self, person: Person, kind: str, on: dt.date, detail: dict[str, str]) -> None:
        profile = self.profiles["entry_exit"]
        g = self.garbler
        passport = person.passport_on(on)
        if passport is None:
            return
        name = write_name(g, person, person.name_on(on), profile)
        dob = write_date_of_birth(g, person, profile)
        key = self._key("X")
        citizenship = (
            "United States"
            if person.us_born or person.status_on(on) == "citizen_naturalised"
            else person.citizenship
        )
        self._emit(
            "entry_exit",
            key,
            person,
            {
                "event_id": key,
                "event_type": kind.upper(),
                "event_date": on.isoformat(),
                "port": detail["port"],
                "passport_number": write_identifier(g, passport, profile),
                "citizenship": citizenship.upper(),
                "surname": name.family,
                "given_names": " ".join(p for p in (name.given, name.middle) if p),
                "date_of_birth": f"{dob.day:02d} {_MONTHS[dob.month]} {dob.year}" if dob else "",
                "sex": person.sex,
            },
        )

    def _status(self, person: Person, on: dt.date, detail: dict[str, str]) -> None:
        profile = self.profiles["immigration_status"]
        g = self.garbler
        name = write_name(g, person, person.name_on(on), profile)
        dob = write_date_of_birth(g, person, profile)
        address = written_address(g, person, on, profile)
        key = self._key("IOE")
        self._emit(
            "immigration_status",
            key,
            person,
            {
                "receipt_number": key,
                "a_number": write_identifier(g, person.a_number, profile),
                "family_name": name.family,
                "given_name": name.given,
                "middle_name": name.middle,
                "date_of_birth": _us_date(dob) if dob else "",
                "country_of_birth": person.country_of_birth,
                "event_type": detail["event_type"],
                "benefit": detail["benefit"],
                "event_date": on.isoformat(),
                "mailing_address": address.one_line if address else "",
            },
        )

    def _hearing(self, person: Person, on: dt.date, detail: dict[str, str]) -> None:
        profile = self.profiles["court"]
        g = self.garbler
        name = write_name(g, person, person.name_on(on), profile)
        dob = write_date_of_birth(g, person, profile)
        address = written_address(g, person, on, profile)
        key = self._key("H")
        given = " ".join(p for p in (name.given, name.middle) if p)
        self._emit(
            "court",
            key,
            person,
            {
                "hearing_id": key,
                "case_number": detail["case"],
                "a_number": write_identifier(g, person.a_number, profile),
                "respondent_name": f"{name.family}, {given}",
                "date_of_birth": dob.isoformat() if dob else "",
                "hearing_date": on.isoformat(),
                "hearing_type": detail["hearing_type"],
                "outcome": detail["outcome"],
                "departure_deadline": detail.get("departure_deadline", ""),
                "address": address.one_line.upper() if address else "",
            },
        )


_MONTHS = ("", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def _us_date(day: dt.date) -> str:
    return f"{day.month:02d}/{day.day:02d}/{day.year}"


def _address_parts(address: Address | None) -> dict[str, str]:
    if address is None:
        return {"street_address": "", "city": "", "state": "", "zip": ""}
    return {
        "street_address": address.line,
        "city": address.city,
        "state": address.state,
        "zip": address.postcode,
    }
