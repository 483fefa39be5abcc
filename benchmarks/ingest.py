"""Ingest throughput: rows per second loading a generated world's six source files.

    .venv/bin/python benchmarks/ingest.py --persons 120000            # about 1,000,000 rows, SQLite
    DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/ingest.py --persons 120000

Generates the world once, then for each run loads every file into a fresh workspace (a fresh
PostgreSQL schema when DATABASE_URL is set) through `ingest_file`, one transaction per file,
and prints rows per second; the last line is a JSON summary with the median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from caseline.config import load_settings
from caseline.db import Database, upgrade_to_head
from caseline.ingest import ingest_file
from caseline.oversight import Actor, Role
from caseline.synth import generate_world

OPERATOR = Actor("benchmark", Role.DATA_ENGINEER)


def one_run(world_dir: Path, files: dict[str, Path], server_url: str | None) -> tuple[int, float]:
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
    start = time.perf_counter()
    for source, path in files.items():
        with database.transaction() as session:
            summary = ingest_file(session, path, source, identifier_key=settings.identifier_key,
                                  actor=OPERATOR)  # fmt: skip
        rows += summary.loaded + summary.quarantined
    seconds = time.perf_counter() - start
    database.dispose()
    if schema and server_url:
        with create_engine(server_url, isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    return rows, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=120_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL")
    world_dir = Path(tempfile.mkdtemp(prefix="caseline-world-"))
    world = generate_world(args.persons, seed=1, out_dir=world_dir)
    rates = []
    for run in range(args.runs):
        rows, seconds = one_run(world_dir, world.source_files, server_url)
        rates.append(rows / seconds)
        print(f"run {run + 1}: {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s",
              flush=True)  # fmt: skip
    print(json.dumps({
        "database": "postgresql" if server_url else "sqlite",
        "rows": rows,
        "runs": args.runs,
        "median_rows_per_second": round(statistics.median(rates)),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
