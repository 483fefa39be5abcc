"""Write a world: the source files a population leaves behind, and the ground truth beside them."""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from caseline.synth.errors import ErrorRates, garble_date, keyboard_typo, random_digits
from caseline.synth.population import REFERENCE_DATE, Person, Residence, draw_population

ProgressCallback = Callable[[int], None]

MOTOR_VEHICLE_COLUMNS = [
    "licence_number", "first_name", "middle_name", "last_name", "dob", "sex",
    "street_address", "city", "state", "zip", "issued_on",
]  # fmt: skip
TAX_COLUMNS = [
    "filing_id", "ssn", "taxpayer_name", "date_of_birth", "employer", "address", "tax_year",
]  # fmt: skip
UTILITY_COLUMNS = [
    "account_number", "customer_name", "service_address", "service_city", "service_state",
    "service_zip", "service_start", "service_end",
]  # fmt: skip
TRUTH_COLUMNS = ["source", "source_key", "entity_id", "group"]


@dataclass(frozen=True, slots=True)
class WorldSummary:
    persons: int
    records_by_source: dict[str, int]
    out_dir: Path

    @property
    def truth_file(self) -> Path:
        return self.out_dir / "truth.csv"

    @property
    def source_files(self) -> dict[str, Path]:
        return {source: self.out_dir / f"{source}.csv" for source in self.records_by_source}


def generate_world(
    persons: int,
    seed: int,
    out_dir: Path,
    *,
    rates: ErrorRates | None = None,
    progress: ProgressCallback | None = None,
) -> WorldSummary:
    """Draw ``persons`` people and write motor_vehicle, tax and utility CSVs plus truth.csv."""
    if persons < 1:
        raise ValueError("a world needs at least one person")
    rates = rates or ErrorRates()
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed + 1)
    population = draw_population(persons, seed)
    counts = {"motor_vehicle": 0, "tax": 0, "utility": 0}
    seen_keys: set[str] = set()
    with _Writers(out_dir) as writers:
        for index, person in enumerate(population):
            for source, row in _records_of(rng, person, rates):
                key = row[_KEY_COLUMN[source]]
                if key in seen_keys:  # a random key drawn twice: keep keys unique per source
                    key = row[_KEY_COLUMN[source]] = f"{key}{index}"
                seen_keys.add(key)
                writers.write(source, row)
                writers.write(
                    "truth",
                    {
                        "source": source,
                        "source_key": key,
                        "entity_id": person.entity_id,
                        "group": person.group,
                    },
                )
                counts[source] += 1
            if progress is not None:
                progress(index + 1)
    _write_persons(out_dir / "persons.csv", population)
    return WorldSummary(persons=persons, records_by_source=counts, out_dir=out_dir)


_KEY_COLUMN = {"motor_vehicle": "licence_number", "tax": "filing_id", "utility": "account_number"}


class _Writers:
    def __init__(self, out_dir: Path) -> None:
        self._out_dir = out_dir
        self._columns = {
            "motor_vehicle": MOTOR_VEHICLE_COLUMNS,
            "tax": TAX_COLUMNS,
            "utility": UTILITY_COLUMNS,
            "truth": TRUTH_COLUMNS,
        }
        self._files: dict[str, object] = {}
        self._writers: dict[str, csv.DictWriter[str]] = {}

    def __enter__(self) -> _Writers:
        for name, columns in self._columns.items():
            handle = (self._out_dir / f"{name}.csv").open("w", newline="", encoding="utf-8")
            self._files[name] = handle
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            self._writers[name] = writer
        return self

    def write(self, name: str, row: dict[str, str]) -> None:
        self._writers[name].writerow(row)

    def __exit__(self, *exc: object) -> None:
        for handle in self._files.values():
            handle.close()  # type: ignore[attr-defined]


def _records_of(
    rng: random.Random, person: Person, rates: ErrorRates
) -> list[tuple[str, dict[str, str]]]:
    records: list[tuple[str, dict[str, str]]] = []
    if rng.random() < 0.85:
        records.append(("motor_vehicle", _motor_vehicle(rng, person, rates)))
    for year in range(2019, REFERENCE_DATE.year):
        if rng.random() < 0.35:
            records.append(("tax", _tax(rng, person, rates, year)))
    for residence in person.residences:
        if rng.random() < 0.7:
            records.append(("utility", _utility(rng, person, rates, residence)))
    return records


def _name(rng: random.Random, value: str, rates: ErrorRates) -> str:
    return keyboard_typo(rng, value) if rng.random() < rates.name_typo else value


def _dob(rng: random.Random, person: Person, rates: ErrorRates) -> dt.date | None:
    if rng.random() < rates.date_of_birth_missing:
        return None
    if rng.random() < rates.date_of_birth_typo:
        return garble_date(rng, person.date_of_birth)
    return person.date_of_birth


def _motor_vehicle(rng: random.Random, person: Person, rates: ErrorRates) -> dict[str, str]:
    issued = REFERENCE_DATE - dt.timedelta(days=rng.randrange(30, 365 * 8))
    address = person.residence_on(issued).address
    dob = _dob(rng, person, rates)
    middle = person.middle_name if rng.random() >= rates.middle_name_dropped else None
    return {
        "licence_number": f"{person.family_name[0].upper()}{random_digits(rng, 8)}",
        "first_name": _name(rng, person.given_name, rates),
        "middle_name": middle or "",
        "last_name": _name(rng, person.family_name, rates),
        "dob": dob.isoformat() if dob else "",
        "sex": person.sex,
        "street_address": address.line,
        "city": address.city,
        "state": address.state,
        "zip": address.postcode,
        "issued_on": issued.isoformat(),
    }


def _tax(rng: random.Random, person: Person, rates: ErrorRates, year: int) -> dict[str, str]:
    filed = dt.date(year + 1, 4, 1) - dt.timedelta(days=rng.randrange(0, 60))
    address = person.residence_on(filed).address
    dob = _dob(rng, person, rates)
    initial = f" {person.middle_name[0]}" if person.middle_name else ""
    family = _name(rng, person.family_name, rates).upper()
    name = f"{family}, {_name(rng, person.given_name, rates).upper()}{initial}"
    return {
        "filing_id": f"T{year}-{random_digits(rng, 9)}",
        "ssn": person.ssn,
        "taxpayer_name": name,
        "date_of_birth": dob.strftime("%m/%d/%Y") if dob else "",
        "employer": person.employer,
        "address": f"{address.line}, {address.city}, {address.state} {address.postcode}",
        "tax_year": str(year),
    }


def _utility(
    rng: random.Random, person: Person, rates: ErrorRates, residence: Residence
) -> dict[str, str]:
    start = residence.moved_in + dt.timedelta(days=rng.randrange(0, 20))
    end = residence.moved_out
    address = residence.address
    return {
        "account_number": f"U{random_digits(rng, 10)}",
        "customer_name": " ".join(
            (_name(rng, person.given_name, rates), _name(rng, person.family_name, rates))
        ),
        "service_address": address.line,
        "service_city": address.city,
        "service_state": address.state,
        "service_zip": address.postcode,
        "service_start": start.isoformat(),
        "service_end": end.isoformat() if end else "",
    }


def _write_persons(path: Path, population: list[Person]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "entity_id",
                "group",
                "given_name",
                "middle_name",
                "family_name",
                "date_of_birth",
                "sex",
                "current_address",
            ]
        )
        for p in population:
            current = p.residences[-1].address
            writer.writerow(
                [
                    p.entity_id,
                    p.group,
                    p.given_name,
                    p.middle_name or "",
                    p.family_name,
                    p.date_of_birth.isoformat(),
                    p.sex,
                    f"{current.line}, {current.city}, {current.state} {current.postcode}",
                ]
            )
