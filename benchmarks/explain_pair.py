"""How long explaining a pair takes: the median of `explain_pair` over pairs of the queue.

    .venv/bin/python benchmarks/explain_pair.py --persons 300 --pairs 30
    .venv/bin/python benchmarks/explain_pair.py --resolved /tmp/workspace --pairs 50

Without ``--resolved`` it generates a world of ``--persons`` persons into a fresh SQLite
workspace, ingests and resolves it. It then explains the first ``--pairs`` pairs of the
review queue (each once, as a reviewer moving through the queue would), in one process, and
prints the first call's time (the run's model read from disk), the median and the slowest of
the rest. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from caseline.config import Settings
from caseline.db import Database, upgrade_to_head
from caseline.db.models import ReviewPair
from caseline.ingest import ingest_file
from caseline.oversight import Actor, Role
from caseline.resolve import explain_pair, resolve_persons
from caseline.synth import generate_world

OPERATOR = Actor("benchmark", Role.DATA_ENGINEER)
ANALYST = Actor("benchmark-analyst", Role.ANALYST)
PURPOSE = "benchmark of pair explanations"


def _resolved_workspace(persons: int, home: Path) -> Database:
    world = generate_world(persons, seed=11, out_dir=home / "world")
    settings = Settings(home=home)
    upgrade_to_head(settings.resolved_database_url)
    database = Database(settings.resolved_database_url)
    for source, path in world.source_files.items():
        with database.transaction() as session:
            ingest_file(
                session, path, source, identifier_key=settings.identifier_key, actor=OPERATOR
            )
    resolve_persons(
        database, models_dir=settings.models_dir, threshold=settings.match_threshold, actor=OPERATOR
    )
    return database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--resolved", type=Path, help="a resolved workspace (its folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        if args.resolved:
            database = Database(Settings(home=args.resolved).resolved_database_url)
        else:
            database = _resolved_workspace(args.persons, Path(scratch))
        with database.transaction() as session:
            pairs = session.execute(
                select(ReviewPair.left_record_id, ReviewPair.right_record_id)
                .order_by(ReviewPair.resolution_run_id.desc(), ReviewPair.rank)
                .limit(args.pairs)
            ).all()
        if len(pairs) < 2:
            raise SystemExit("the workspace's review queue has fewer than two pairs")
        times = []
        for left, right in pairs:
            started = time.perf_counter()
            with database.transaction() as session:
                explain_pair(session, ANALYST, left, right, PURPOSE)
            times.append(time.perf_counter() - started)
        database.dispose()
    first, rest = times[0], times[1:]
    figures = {
        "pairs": len(times),
        "first_s": round(first, 4),
        "median_s": round(statistics.median(rest), 4),
        "slowest_s": round(max(rest), 4),
    }
    print(f"explain_pair over {len(times)} pairs: first {first:.3f} s (model read), "
          f"median {figures['median_s']:.3f} s, slowest {figures['slowest_s']:.3f} s")  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
