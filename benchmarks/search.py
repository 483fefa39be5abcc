"""Search: does a typed name find the person, and how long does it take?

    .venv/bin/python benchmarks/search.py --persons 20000 --seed 1 --work search-20k
    DATABASE_URL=$(scripts/postgres-up) .venv/bin/python benchmarks/search.py --resolved

Generates a world, ingests and resolves it into ``--work`` (once: a workspace already
resolved there is reused; ``--resolved`` uses the workspace CASELINE_HOME / DATABASE_URL name
and ``--world`` its world), then, for ``--queries`` persons drawn from the world's truth, types
their name four ways: as it is ("Maria Lopez"), with one slip in the family name, with a slip
in each word, and family name first ("Lopez, Maria"), each in lower case. The person sought
is the Caseline person holding most of the true person's records. Prints, per way, the share
found first and in the top 3, and the median and 99th percentile time of `search_persons`
(the package call the API and the page make, audit event included); the last line is JSON.
First it prints what search keeps in the process for the workspace (``profiles.name_index``):
how long it takes to read and how much memory it holds (tracemalloc).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from caseline.config import load_settings
from caseline.db import Database, upgrade_to_head
from caseline.db.models import PersonRecord, SourceRecord
from caseline.ingest import ingest_file
from caseline.oversight import Actor, Role
from caseline.profiles import search_persons
from caseline.profiles.name_index import NameIndex
from caseline.resolve import resolve_persons
from caseline.synth import generate_world

OPERATOR = Actor("benchmark", Role.DATA_ENGINEER)
ANALYST = Actor("benchmark-analyst", Role.ANALYST)
PURPOSE = "search benchmark of typed names"
SOURCES = ("motor_vehicle", "tax", "utility", "entry_exit", "immigration_status", "court")
WAYS = ("as typed", "one slip", "a slip in each word", "family name first")


def prepare(persons: int, seed: int, work: Path) -> tuple[Database, Path]:
    """A resolved SQLite workspace in ``work`` for a generated world (reused if there)."""
    work.mkdir(parents=True, exist_ok=True)
    world, url = work / "world", f"sqlite:///{work}/caseline.db"
    if not (work / "resolved").exists():
        generate_world(persons, seed=seed, out_dir=world)
        upgrade_to_head(url)
        settings = load_settings(home=work, database_url=url)
        database = Database(url)
        for source in SOURCES:
            with database.transaction() as session:
                ingest_file(session, world / f"{source}.csv", source,
                            identifier_key=settings.identifier_key, actor=OPERATOR)  # fmt: skip
        resolve_persons(database, models_dir=settings.models_dir,
                        threshold=settings.match_threshold, actor=OPERATOR)  # fmt: skip
        (work / "resolved").touch()
        return database, world
    return Database(url), world


def slip(word: str, rng: random.Random) -> str:
    """One slip a typist makes: a letter replaced, dropped, doubled, or two swapped."""
    if len(word) < 4:
        return word
    at = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("replace", "drop", "double", "swap"))
    if kind == "replace":
        letter = rng.choice([c for c in "AEIOUNRSTLMZ" if c != word[at]])
        return word[:at] + letter + word[at + 1 :]
    if kind == "drop":
        return word[:at] + word[at + 1 :]
    if kind == "double":
        return word[:at] + word[at] + word[at:]
    return word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]


def queries(given: str, family: str, rng: random.Random) -> dict[str, str]:
    return {
        "as typed": f"{given} {family}",
        "one slip": f"{given} {slip(family, rng)}",
        "a slip in each word": f"{slip(given, rng)} {slip(family, rng)}",
        "family name first": f"{family}, {given}",
    }


def sought_persons(database: Database, truth: Path) -> dict[str, str]:
    """True entity -> the Caseline person holding most of its records."""
    entity_of = {}
    with truth.open(newline="") as handle:
        for row in csv.DictReader(handle):
            entity_of[(row["source"], row["source_key"])] = row["entity_id"]
    held: dict[str, Counter[str]] = {}
    with database.transaction() as session:
        rows = session.execute(
            select(SourceRecord.source, SourceRecord.source_key, PersonRecord.person_id).join(
                PersonRecord, PersonRecord.record_id == SourceRecord.record_id
            )
        )
        for source, key, person_id in rows:
            entity = entity_of.get((source, key))
            if entity is not None:
                held.setdefault(entity, Counter())[person_id] += 1
    return {entity: counts.most_common(1)[0][0] for entity, counts in held.items()}


def index_size(database: Database) -> dict[str, float]:
    """Read search's name index twice: the seconds the first took, the megabytes the second
    holds (traced), and its counts."""
    with database.transaction() as session:
        started = time.perf_counter()
        NameIndex.read(session)
        seconds = time.perf_counter() - started
        tracemalloc.start()
        index = NameIndex.read(session)
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "read_s": seconds,
        "held_mb": held / 1e6,
        "words": len(index.vocabulary.persons_holding),
        "persons": len(index.person_ids),
    }


def measure(database: Database, world: Path, count: int, seed: int) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    sought = sought_persons(database, world / "truth.csv")
    with (world / "persons.csv").open(newline="") as handle:
        people = [
            p for p in csv.DictReader(handle)
            if p["entity_id"] in sought and p["given_name"] and p["family_name"]
        ]  # fmt: skip
    chosen = rng.sample(people, min(count, len(people)))
    found: dict[str, list[int]] = {way: [] for way in WAYS}
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    for person in chosen:
        family = " ".join(filter(None, (person["family_name"], person["second_family_name"])))
        for way, query in queries(person["given_name"], family, rng).items():
            started = time.perf_counter()
            with database.transaction() as session:
                results = search_persons(session, query.lower(), actor=ANALYST, purpose=PURPOSE)
            times[way].append(time.perf_counter() - started)
            ids = [p.person_id for p in results.persons]
            target = sought[person["entity_id"]]
            found[way].append(ids.index(target) + 1 if target in ids else 0)
    return {
        way: {
            "queries": len(found[way]),
            "top1": sum(r == 1 for r in found[way]) / len(found[way]),
            "top3": sum(1 <= r <= 3 for r in found[way]) / len(found[way]),
            "median_ms": 1000 * statistics.median(times[way]),
            "p99_ms": 1000 * statistics.quantiles(times[way], n=100)[98],
        }
        for way in WAYS
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("caseline-search"))
    parser.add_argument("--resolved", action="store_true", help="use the configured workspace")
    parser.add_argument("--world", type=Path, help="its world (with --resolved)")
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    if args.resolved:
        settings = load_settings()
        database, world = Database(settings.resolved_database_url), args.world
        if world is None:
            parser.error("--resolved needs --world (the world the workspace holds)")
    else:
        database, world = prepare(args.persons, args.seed, args.work)
    size = index_size(database)
    print(
        f"name index: read in {size['read_s']:.2f} s, holds {size['held_mb']:.1f} MB "
        f"({int(size['words'])} words, {int(size['persons'])} persons)"
    )
    figures = measure(database, world, args.queries, args.seed)
    for way, f in figures.items():
        print(
            f"{way:22} {int(f['queries']):5} queries  top-1 {f['top1']:.3f}  top-3 "
            f"{f['top3']:.3f}  median {f['median_ms']:.1f} ms  p99 {f['p99_ms']:.1f} ms"
        )
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
