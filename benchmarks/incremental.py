"""Incremental resolution: how long placing a batch of new records takes after a full run.

    .venv/bin/python benchmarks/incremental.py --world /tmp/world-20k --new 1000 --runs 3
    .venv/bin/python benchmarks/incremental.py --resolved /tmp/workspace --new 1000 --runs 3

Ingests a generated world into a fresh SQLite workspace with the last ``--new`` rows of its
tax file held back, runs a full resolution, then ingests the held-back rows and times
`resolve_incrementally` (loading the model included). Each of ``--runs`` builds its own
workspace; the median is printed, and the last line is one JSON object.

With ``--resolved DIR`` (a workspace that `caseline resolve` has resolved, e.g. a million
records, where ingesting anew would take minutes) it copies the workspace once and opens one
`IncrementalResolver` (model, kept records and term frequencies loaded once, timed apart),
as a long-lived process would. Each run then takes ``--new`` other tax records back out of
their persons as if they had just arrived: in the copy, they leave their persons and are
credited to a new ingest run, as an ingest of them would have left them. It times placing
them, step by step. ``--old-ingest`` leaves them with their first ingest instead, which
costs the search for unplaced records a pass over every record.

    .venv/bin/python benchmarks/incremental.py --serve --resolved WS --world W --new 1000 --runs 5

measures the service's path instead (`benchmarks/incremental_service.py`): `caseline serve`
on a copy of ``WS`` (``--database-url`` names its PostgreSQL database, copied too), each
run posting ``--new`` rows of ``W``'s tax file under new filing ids to `POST /api/records`
and timing the answer, after one untimed batch has opened the server's resolver.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from caseline.config import load_settings
from caseline.db import Database, upgrade_to_head
from caseline.db.models import IngestRun, PersonRecord, SourceRecord
from caseline.ingest import ingest_file
from caseline.oversight import Actor, Role
from caseline.resolve import resolve_incrementally, resolve_persons
from caseline.resolve.incremental import IncrementalResolver, IncrementalSummary
from caseline.resolve.placement_service import STEP_LABELS
from incremental_service import service_runs

OPERATOR = Actor("benchmark", Role.DATA_ENGINEER)
SOURCES = ("motor_vehicle", "tax", "utility", "entry_exit", "immigration_status", "court")


def one_run(world: Path, new: int, work: Path) -> dict[str, float]:
    url = f"sqlite:///{work}/caseline.db"
    upgrade_to_head(url)
    settings = load_settings(home=work, database_url=url)
    database = Database(url)
    lines = (world / "tax.csv").read_text().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    (work / "tax.csv").write_text(header + "".join(rows[:-new]))
    (work / "tax-later.csv").write_text(header + "".join(rows[-new:]))
    files = [world / f"{s}.csv" for s in SOURCES if s != "tax"] + [work / "tax.csv"]
    for path in files:
        with database.transaction() as session:
            source = "tax" if path.name == "tax.csv" else path.stem
            ingest_file(
                session, path, source, identifier_key=settings.identifier_key, actor=OPERATOR
            )
    started = time.perf_counter()
    full = resolve_persons(
        database,
        models_dir=settings.models_dir,
        threshold=settings.match_threshold,
        actor=OPERATOR,
    )
    full_seconds = time.perf_counter() - started
    with database.transaction() as session:
        ingest_file(
            session,
            work / "tax-later.csv",
            "tax",
            identifier_key=settings.identifier_key,
            actor=OPERATOR,
        )
    started = time.perf_counter()
    summary = resolve_incrementally(
        database, models_dir=settings.models_dir, threshold=settings.match_threshold, actor=OPERATOR
    )
    incremental_seconds = time.perf_counter() - started
    database.dispose()
    print(
        f"  {full.records:,} records resolved in {full_seconds:.1f} s; {summary.new_records:,} "
        f"new placed in {incremental_seconds:.2f} s ({summary.joined_existing:,} joined "
        f"persons, {summary.new_persons:,} new, {summary.candidates:,} candidates)"
    )
    return {
        "records": float(full.records),
        "full_seconds": full_seconds,
        "incremental_seconds": incremental_seconds,
        "new_records": float(summary.new_records),
        "candidates": float(summary.candidates),
    }


def resolved_runs(
    resolved: Path, new: int, runs: int, work: Path, *, old_ingest: bool = False
) -> list[dict[str, Any]]:
    """Copy the workspace once, open one resolver (as a long-lived process would), then per
    run take ``new`` other tax records out of their persons and time placing them."""
    shutil.copytree(resolved, work, dirs_exist_ok=True)
    url = f"sqlite:///{work}/caseline.db"
    settings = load_settings(home=work, database_url=url)
    database = Database(url)
    started = time.perf_counter()
    resolver = IncrementalResolver.open(database, models_dir=settings.models_dir)
    opening = time.perf_counter() - started
    print(f"  opened the resolver (model, kept records, term frequencies) in {opening:.1f} s")
    results: list[dict[str, Any]] = []
    with resolver:
        for run in range(runs):
            with database.transaction() as session:
                arrived = session.scalars(
                    select(SourceRecord.record_id)
                    .where(SourceRecord.source == "tax")
                    .order_by(SourceRecord.record_id)
                    .offset(run * new)
                    .limit(new)
                ).all()
                session.execute(delete(PersonRecord).where(PersonRecord.record_id.in_(arrived)))
                if not old_ingest:
                    _credit_to_new_ingest(session, arrived, run)
            summary, steps = _place_timed(resolver, database, settings.match_threshold)
            seconds = sum(steps.values())
            print(
                f"  {summary.new_records:,} new placed in {seconds:.2f} s "
                f"({summary.joined_existing:,} joined persons, {summary.new_persons:,} new, "
                f"{summary.candidates:,} candidates): "
                + ", ".join(f"{name} {s:.2f}" for name, s in steps.items())
            )
            results.append(
                {
                    "incremental_seconds": seconds,
                    "open_seconds": opening,
                    "candidates": float(summary.candidates),
                    "steps": steps,
                }
            )
    database.dispose()
    return results


def _place_timed(
    resolver: IncrementalResolver, database: Database, threshold: float
) -> tuple[IncrementalSummary, dict[str, float]]:
    """Place one batch; the seconds each step took (the first: finding the new records and
    reading them)."""
    marks = [("new records", time.perf_counter())]
    summary = resolver.place(
        database,
        threshold=threshold,
        actor=OPERATOR,
        on_step=lambda name: marks.append((STEP_LABELS.get(name, name), time.perf_counter())),
    )
    marks.append(("", time.perf_counter()))
    return summary, {name: end - start for (name, start), (_, end) in pairwise(marks)}


def _credit_to_new_ingest(session: Session, record_ids: Sequence[str], run: int) -> None:
    """Credit the records to an ingest run of their own, the newest, as ingesting them would."""
    ingest = IngestRun(
        source="tax",
        file_name=f"benchmark-arrivals-{run}.csv",
        file_sha256=hashlib.sha256(f"benchmark arrivals {run} {time.time()}".encode()).hexdigest(),
        loaded=len(record_ids),
    )
    session.add(ingest)
    session.flush()
    session.execute(
        update(SourceRecord)
        .where(SourceRecord.record_id.in_(record_ids))
        .values(ingest_run_id=ingest.id)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, help="a `caseline generate` folder")
    parser.add_argument("--resolved", type=Path, help="a resolved workspace to copy")
    parser.add_argument(
        "--serve", action="store_true", help="post batches to `caseline serve` on the copy"
    )
    parser.add_argument(
        "--database-url", help="with --serve: the resolved workspace's PostgreSQL database"
    )
    parser.add_argument("--workers", type=int, default=1, help="with --serve: server workers")
    parser.add_argument("--new", type=int, default=1000, help="records in the new batch")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--old-ingest",
        action="store_true",
        help="with --resolved: leave the arrivals with the ingest that first loaded them",
    )
    args = parser.parse_args()
    if not (args.world or args.resolved) or (args.serve and not (args.world and args.resolved)):
        parser.error("give --world or --resolved; --serve takes both")
    results = []
    if args.serve:
        with tempfile.TemporaryDirectory(prefix="caseline-incremental-serve-") as work:
            results = service_runs(
                args.resolved, args.world, args.new, args.runs, Path(work),
                database_url=args.database_url, workers=args.workers,
            )  # fmt: skip
    elif args.resolved:
        with tempfile.TemporaryDirectory(prefix="caseline-incremental-") as work:
            results = resolved_runs(
                args.resolved, args.new, args.runs, Path(work), old_ingest=args.old_ingest
            )
    for run in range(args.runs if not args.resolved else 0):
        with tempfile.TemporaryDirectory(prefix=f"caseline-incremental-{run}-") as work:
            results.append(one_run(args.world, args.new, Path(work)))
    median = statistics.median(r["incremental_seconds"] for r in results)
    timed = "answer (ingest and placing)" if args.serve else "time to place"
    print(f"median {timed} for {args.new:,} new records: {median:.2f} s")
    if all("steps" in r for r in results):
        steps = {
            name: statistics.median(r["steps"][name] for r in results)
            for name in results[0]["steps"]
        }
        print("  median per step: " + ", ".join(f"{n} {s:.2f} s" for n, s in steps.items()))
        placing = sum(seconds for name, seconds in steps.items() if name != "ingest")
        print(f"  placing alone (the steps but ingest): {placing:.2f} s (target 2 s at 1M)")
    print(
        json.dumps(
            {
                "runs": results,
                "median_incremental_seconds": median,
                "load_average": os.getloadavg(),
                "mode": "service" if args.serve else "resolver",
            }
        )
    )


if __name__ == "__main__":
    main()
