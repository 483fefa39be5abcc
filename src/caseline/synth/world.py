"""Write a world: the population in chunks (in parallel), its source files, and the truth."""

from __future__ import annotations

import csv
import datetime as dt
import gc
import os
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TextIO

import pyarrow as pa
import pyarrow.parquet as pq

from caseline.synth.calendar import DEFAULT_REFERENCE_DATE
from caseline.synth.errors import ErrorLog, ErrorRates, Garbler, log_of
from caseline.synth.hard_cases import HardCasePlanter, HardCases
from caseline.synth.model import Person
from caseline.synth.names import GROUPS, pools
from caseline.synth.places import gazetteer
from caseline.synth.population import HouseholdBuilder, _employers
from caseline.synth.records import RecordWriter, source_profiles
from caseline.synth.status import StatusHistorian
from caseline.synth.tables import ALL_COLUMNS, SOURCE_COLUMNS, ChunkTables, schema

ProgressCallback = Callable[[int], None]
CHUNK_PERSONS = 10_000
FORMATS = ("csv", "parquet")


@dataclass(frozen=True, slots=True)
class WorldSummary:
    persons: int
    records_by_source: dict[str, int]
    out_dir: Path
    file_format: str = "csv"
    reference_date: dt.date = DEFAULT_REFERENCE_DATE
    errors: ErrorLog = field(default_factory=ErrorLog)
    hard_cases: ErrorLog = field(default_factory=ErrorLog)  # planted: per case, as errors are

    def file(self, name: str) -> Path:
        return self.out_dir / f"{name}.{self.file_format}"

    @property
    def truth_file(self) -> Path:
        return self.file("truth")

    @property
    def source_files(self) -> dict[str, Path]:
        return {source: self.file(source) for source in self.records_by_source}


@dataclass(frozen=True, slots=True)
class _ChunkJob:
    seed: int
    chunk: int
    first_index: int
    persons: int
    reference_date: dt.date
    rates: ErrorRates
    file_format: str
    hard_cases: HardCases


@dataclass(slots=True)
class _ChunkResult:
    tables: dict[str, pa.Table] | dict[str, str]  # Arrow for Parquet, CSV text for CSV
    rows: dict[str, int]
    log: ErrorLog
    planted: ErrorLog
    persons: int


def generate_world(
    persons: int,
    seed: int,
    out_dir: Path,
    *,
    rates: ErrorRates | None = None,
    hard_cases: HardCases | None = None,
    reference_date: dt.date = DEFAULT_REFERENCE_DATE,
    file_format: str = "csv",
    workers: int | None = None,
    chunk_persons: int = CHUNK_PERSONS,
    progress: ProgressCallback | None = None,
) -> WorldSummary:
    """Draw ``persons`` people and write six source files plus the ground truth.

    The output depends only on ``persons``, ``seed``, ``rates``, ``hard_cases``,
    ``reference_date`` and ``chunk_persons``: not on the number of workers, which only decides
    how many chunks are drawn at once.
    """
    if persons < 1:
        raise ValueError("a world needs at least one person")
    if file_format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    rates = rates or ErrorRates()
    hard_cases = hard_cases or HardCases()
    jobs = [
        _ChunkJob(
            seed,
            chunk,
            first,
            min(chunk_persons, persons - first),
            reference_date,
            rates,
            file_format,
            hard_cases,
        )
        for chunk, first in enumerate(range(0, persons, chunk_persons))
    ]
    log, planted = ErrorLog(), ErrorLog()
    counts = dict.fromkeys(SOURCE_COLUMNS, 0)
    done = 0
    with _Writers(out_dir, file_format) as writers:
        for result in _run(jobs, workers):
            for name, table in result.tables.items():
                writers.write(name, table)
            for name, rows in result.rows.items():
                if name in counts:
                    counts[name] += rows
            log.merge(result.log)
            planted.merge(result.planted)
            done += result.persons
            if progress is not None:
                progress(done)
    return WorldSummary(persons, counts, out_dir, file_format, reference_date, log, planted)


def _run(jobs: list[_ChunkJob], workers: int | None) -> Iterator[_ChunkResult]:
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers <= 1 or len(jobs) == 1:
        yield from map(_draw_chunk, jobs)
        return
    _warm_caches()  # built once, then shared with the forked workers
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        yield from pool.map(_draw_chunk, jobs)


def _warm_caches() -> None:
    for group in GROUPS:
        pools(group)
    gazetteer()
    _employers()


def _draw_chunk(job: _ChunkJob) -> _ChunkResult:
    # Millions of short-lived objects and no cycles: the cyclic collector only costs time here.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _draw_chunk_unguarded(job)
    finally:
        if gc_was_enabled:
            gc.enable()


def _draw_chunk_unguarded(job: _ChunkJob) -> _ChunkResult:
    rng = random.Random(f"caseline-world:{job.seed}:{job.chunk}")
    builder = HouseholdBuilder(rng, job.reference_date, salt=job.seed)
    historian = StatusHistorian(rng, job.reference_date, salt=job.seed)
    planter = HardCasePlanter(rng, job.reference_date, job.hard_cases)
    households: list[list[Person]] = []
    index, end = job.first_index, job.first_index + job.persons
    while index < end:
        household_id = f"H{job.chunk:05d}{len(households):06d}"
        namesake = planter.next_namesake()
        if namesake is None:
            members = builder.household(household_id, index, end - index)
        else:
            members = builder.namesake(household_id, index, *namesake)
        for person in members:
            historian.history(person, members[0])
        if namesake is not None:
            planter.placed(members[0])
        planter.consider(members)
        households.append(members)
        index += len(members)

    tables = ChunkTables()
    profiles = source_profiles(job.rates)
    writer = RecordWriter(
        rng=rng,
        garbler=Garbler(rng, planter.misdated),
        tables=tables,
        profiles=profiles,
        reference_date=job.reference_date,
        chunk=job.chunk,
        salt=job.seed,
        ssn_pool=[p.ssn for members in households for p in members if p.ssn],
    )
    for members in households:
        _records_of_household(writer, members, rng)
        for person in members:
            _truth_of(tables, person, job.reference_date)
    log = log_of([knob for profile in profiles.values() for knob in profile.knobs.all()])
    rows = tables.row_counts()
    output = tables.to_csv() if job.file_format == "csv" else tables.to_arrow()
    return _ChunkResult(output, rows, log, planter.log(), job.persons)


def _records_of_household(writer: RecordWriter, members: list[Person], rng: random.Random) -> None:
    head = members[0]
    spouse = next((m for m in members if m.role == "spouse"), None)
    holder = spouse if spouse is not None and rng.random() < 0.3 else head
    writer.utility(holder, holder.residences)
    for person in members:
        writer.motor_vehicle(person)
        writer.tax(person)
        writer.immigration(person)
        if person.left_home_on is not None:
            writer.utility(
                person, [r for r in person.residences if r.moved_in >= person.left_home_on]
            )


def _truth_of(tables: ChunkTables, person: Person, reference_date: dt.date) -> None:
    current = person.residence_on(reference_date)
    legal = person.name_on(reference_date)
    first = person.names[0]
    tables.add("persons", {
        "entity_id": person.entity_id, "household_id": person.household_id, "group": person.group,
        "role": person.role, "sex": person.sex, "given_name": legal.given,
        "middle_name": legal.middle or "",
        "family_name": legal.family, "second_family_name": legal.second_family or "",
        "suffix": legal.suffix or "", "date_of_birth": person.date_of_birth.isoformat(),
        "country_of_birth": person.country_of_birth, "citizenship": person.citizenship,
        "us_born": str(person.us_born).lower(),
        "entered_on": person.entered_on.isoformat() if person.entered_on else "",
        "departed_on": person.departed_on.isoformat() if person.departed_on else "",
        "status": person.status_on(reference_date), "renter": str(person.renter).lower(),
        "twin_of": person.twin_of or "",
        "previous_family_name": first.family if legal is not first else "",
        "name_changed_on": legal.since.isoformat() if legal.since else "",
        "current_address": current.address.one_line if current else "",
    })  # fmt: skip
    for residence in person.residences:
        a = residence.address
        tables.add("residences", {
            "entity_id": person.entity_id, "street_number": a.street_number, "street": a.street,
            "unit": a.unit or "", "city": a.city, "state": a.state, "postcode": a.postcode,
            "address": a.one_line, "moved_in": residence.moved_in.isoformat(),
            "moved_out": residence.moved_out.isoformat() if residence.moved_out else "",
        })  # fmt: skip
    for period in person.statuses:
        tables.add("statuses", {
            "entity_id": person.entity_id, "status": period.status,
            "since": period.since.isoformat(),
            "until": period.until.isoformat() if period.until else "",
        })  # fmt: skip


class _Writers:
    """One streaming writer per output file; all columns are text, as the sources would be."""

    def __init__(self, out_dir: Path, file_format: str) -> None:
        self.out_dir = out_dir
        self.file_format = file_format
        self._csv: dict[str, TextIO] = {}
        self._parquet: dict[str, pq.ParquetWriter] = {}

    def __enter__(self) -> _Writers:
        for name, columns in ALL_COLUMNS.items():
            path = self.out_dir / f"{name}.{self.file_format}"
            if self.file_format == "csv":
                handle = path.open("w", encoding="utf-8", newline="")
                csv.writer(handle, lineterminator="\n").writerow(columns)
                self._csv[name] = handle
            else:
                self._parquet[name] = pq.ParquetWriter(path, schema(name))
        return self

    def write(self, name: str, rows: pa.Table | str) -> None:
        if isinstance(rows, str):
            self._csv[name].write(rows)
        else:
            self._parquet[name].write_table(rows)

    def __exit__(self, *exc: object) -> None:
        for handle in self._csv.values():
            handle.close()
        for writer in self._parquet.values():
            writer.close()
