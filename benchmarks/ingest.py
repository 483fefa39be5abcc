"""Ingest throughput: rows per second loading a generated world, and a mapped person file.

    .venv/bin/python benchmarks/ingest.py --persons 120000            # about 1,000,000 rows, SQLite
    DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/ingest.py --persons 120000

Generates the world once and writes from it one mapped CSV of the kind users bring: one row
per source record, a person's name, date of birth and sex, and a one-line quoted address
written with varying habits (street types in full or abbreviated, units as Apt, # or Unit,
upper or title case, most ZIP codes with a +4), so that nearly every address string is
distinct; with it, the YAML mapping that reads it. Then, per run, loads the world's six
files, and the mapped file, each into a fresh workspace (a fresh PostgreSQL schema when
DATABASE_URL is set) through `ingest_file`, one transaction per file, and prints rows per
second, with the CPU time the ingest itself spent (the database server's, on PostgreSQL,
is not in it) and the load average; the last line is a JSON summary with the medians.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from caseline.config import load_settings
from caseline.db import Database, upgrade_to_head
from caseline.ingest import ingest_file, plan_ingest
from caseline.oversight import Actor, Role
from caseline.sources import SourceAdapter
from caseline.synth import generate_world

OPERATOR = Actor("benchmark", Role.DATA_ENGINEER)
MAPPING = """\
source: person_file
key: record
fields:
  full_name: name
  date_of_birth: {column: born, format: "%m/%d/%Y"}
  sex: sex
  address: address
"""
_TYPES = {"ST": "Street", "AVE": "Avenue", "RD": "Road", "DR": "Drive", "LN": "Lane",
          "BLVD": "Boulevard", "CT": "Court", "PL": "Place"}  # fmt: skip


def write_mapped_file(world_dir: Path, seed: int = 1) -> tuple[Path, Path]:
    """A person file (CSV) and its mapping, from the world's truth, persons and residences."""
    rng = random.Random(seed)
    persons: dict[str, dict[str, str]] = {}
    with (world_dir / "persons.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            persons[row["entity_id"]] = row
    homes: dict[str, list[dict[str, str]]] = {}
    with (world_dir / "residences.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            homes.setdefault(row["entity_id"], []).append(row)
    path, mapping = world_dir / "person_file.csv", world_dir / "person_file.yaml"
    with (
        (world_dir / "truth.csv").open(newline="", encoding="utf-8") as truth,
        path.open("w", newline="", encoding="utf-8") as out,
    ):
        writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(["record", "name", "born", "sex", "address"])
        for n, row in enumerate(csv.DictReader(truth)):
            person = persons[row["entity_id"]]
            year, month, day = person["date_of_birth"].split("-")
            name = f"{person['given_name']} {person['family_name']}"
            home = rng.choice(homes.get(row["entity_id"]) or [{}])
            writer.writerow([f"R{n:09d}", name, f"{month}/{day}/{year}", person["sex"],
                             _one_line(home, rng) if home else ""])  # fmt: skip
    mapping.write_text(MAPPING, encoding="utf-8")
    return path, mapping


def _one_line(home: dict[str, str], rng: random.Random) -> str:
    words = home["street"].split()
    if words and words[-1].upper() in _TYPES and rng.random() < 0.5:
        words[-1] = _TYPES[words[-1].upper()]
    street = f"{home['street_number']} {' '.join(words)}"
    if home["unit"]:
        street += rng.choice([" Apt ", " # ", " Unit ", " APT "]) + home["unit"]
    elif rng.random() < 0.3:
        street += f" Apt {rng.randint(1, 40)}"
    postcode = home["postcode"]
    if rng.random() < 0.8:
        postcode += f"-{rng.randint(0, 9999):04d}"
    line = f"{street}, {home['city']}, {home['state']} {postcode}"
    return line.upper() if rng.random() < 0.5 else line


def one_run(
    files: list[tuple[Path, str | SourceAdapter]], server_url: str | None
) -> tuple[int, float, float]:
    """Rows loaded, seconds taken, and CPU seconds this process and its workers spent."""
    home = Path(tempfile.mkdtemp(prefix="caseline-ingest-"))
    url = f"sqlite:///{home / 'caseline.db'}"
    schema = None
    if server_url:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with create_engine(server_url, isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{server_url}{'&' if '?' in server_url else '?'}options=-csearch_path%3D{schema}"
    upgrade_to_head(url)
    settings = load_settings(home=home, database_url=url)
    database = Database(url)
    rows = 0
    cpu_before = _cpu_seconds()
    start = time.perf_counter()
    for path, source in files:
        with database.transaction() as session:
            summary = ingest_file(session, path, source, identifier_key=settings.identifier_key,
                                  actor=OPERATOR)  # fmt: skip
        rows += summary.loaded + summary.quarantined
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu_before
    database.dispose()
    if schema and server_url:
        with create_engine(server_url, isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    return rows, seconds, cpu


def _cpu_seconds() -> float:
    """User and system CPU time of this process and of its finished workers."""
    own, workers = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                         resource.RUSAGE_CHILDREN))  # fmt: skip
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=120_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL")
    world_dir = Path(tempfile.mkdtemp(prefix="caseline-world-"))
    world = generate_world(args.persons, seed=1, out_dir=world_dir)
    mapped, mapping = write_mapped_file(world_dir)
    inputs = {
        "world": [(path, source) for source, path in world.source_files.items()],
        "mapped": plan_ingest([mapped], mapping=mapping),
    }
    rates: dict[str, list[float]] = {name: [] for name in inputs}
    rows: dict[str, int] = {}
    for run in range(args.runs):
        for name, files in inputs.items():
            rows[name], seconds, cpu = one_run(files, server_url)
            rates[name].append(rows[name] / seconds)
            print(f"run {run + 1}, {name}: {rows[name]:,} rows in {seconds:.1f} s = "
                  f"{rows[name] / seconds:,.0f} rows/s ({cpu:.1f} CPU s in this process and "
                  f"its workers), load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    print(json.dumps({
        "database": "postgresql" if server_url else "sqlite",
        "runs": args.runs,
        **{f"{name}_rows": rows[name] for name in inputs},
        **{f"{name}_median_rows_per_second": round(statistics.median(rates[name]))
           for name in inputs},
    }))  # fmt: skip


if __name__ == "__main__":
    main()
