"""Resolution on a Spark standalone cluster beside DuckDB: wall time, peak memory and F1.

    flock /tmp/caseline-bench.lock .venv/bin/python benchmarks/spark_cluster.py --records 100000
    .venv/bin/python benchmarks/spark_cluster.py --records 300000 --model duckdb
    .venv/bin/python benchmarks/spark_cluster.py --records 1000000 \\
        --master spark://HOST:7077 --staging /shared/caseline

Generates a world of about --records records (8.3 records a person) unless --work holds it,
ingests it and saves the model frame as Parquet (as benchmarks/resolution.py does, whose
helpers it uses). Then `link_records` runs on DuckDB and on Spark, each in a forked child,
one after the other. Without --master it starts a standalone cluster on 127.0.0.1 from the
Spark that pyspark ships (a master and one worker with --cores and --worker-memory, as
tests/spark_cluster.py starts it) and stops it afterwards.

``--model duckdb`` scores on Spark with the model the DuckDB run trained (the two then differ
only in the engine); by default Spark trains its own. Memory is sampled every half second
from /proc: the driver (the child process and its JVM) and the worker (the worker, its
executors and their Python workers), each the peak of the sum over its processes. The load
average is printed before and after, since the machine may be shared. The last line is one
JSON object with every figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.spark_cluster

from tests.spark_cluster import standalone_cluster

from caseline.resolve.engine import DEFAULT_ENGINE, Engine
from caseline.resolve.engine.spark import SparkEngine, SparkPlace, stop_spark
from caseline.resolve.evaluation import read_truth, score_assignments
from caseline.resolve.linking import link_records
from caseline.resolve.model import load_model, save_model
from resolution import console, ensure_frame, ensure_world, run_in_child
from vanilla_splink import write_assignments

RECORDS_PER_PERSON = 8.3  # what the generator draws on average
THRESHOLD = 0.8


# --- memory of process trees, from /proc ----------------------------------------------------


def _parents() -> dict[int, int]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def _tree(root: int, parents: dict[int, int]) -> set[int]:
    members, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in members} - members
        members |= more
        grew = bool(more)
    return members


def _pss_mb(pids: set[int]) -> float:
    """Proportional set size: a page shared by n of the processes counts 1/n in each, so
    forked Python workers and the fork's parent are not counted over and over."""
    total_kb = 0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        found = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
        total_kb += int(found.group(1)) if found else 0
    return total_kb / 1024


class PeakMemory:
    """Peak memory (MB, proportional set size) of the driver (this process's descendants
    outside the cluster) and of the worker's process tree, sampled in a thread."""

    def __init__(self, worker_pid: int | None, master_pid: int | None) -> None:
        self.worker_pid, self.master_pid = worker_pid, master_pid
        self.driver_mb = self.worker_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.5):
            parents = _parents()
            cluster: set[int] = set()
            for pid in (self.worker_pid, self.master_pid):
                if pid is not None:
                    cluster |= _tree(pid, parents)
            driver = _tree(me, parents) - cluster - {me}
            self.driver_mb = max(self.driver_mb, _pss_mb(driver))
            if self.worker_pid is not None:
                self.worker_mb = max(self.worker_mb, _pss_mb(_tree(self.worker_pid, parents)))


# --- the runs -------------------------------------------------------------------------------


def link(frame_path: Path, engine: Engine, model_path: Path | None, out: Path) -> dict[str, Any]:
    """`link_records` over the frame: seconds, the persons written to ``out``, the model."""
    start = time.perf_counter()
    frame = pd.read_parquet(frame_path)
    steps: dict[str, float] = {}

    def on_step(step: str) -> None:
        steps[step.split()[0]] = time.perf_counter() - start
        console.print(f"  {step} (at {steps[step.split()[0]]:.0f} s)")

    linkage = link_records(
        frame,
        threshold=THRESHOLD,
        engine=engine,
        model=load_model(model_path) if model_path else None,
        on_step=on_step,
    )
    seconds = time.perf_counter() - start
    write_assignments(
        out, [r for c in linkage.clusters for r in c], [c[0] for c in linkage.clusters for _ in c]
    )
    saved = model_path or save_model(linkage.model, out.parent, f"{engine.name}-trained")
    if isinstance(engine, SparkEngine):
        stop_spark()
    return {
        "seconds": seconds,
        "training_seconds": steps["scoring"] - steps["training"] if "training" in steps else 0.0,
        # From the decisive pairs to the persons before the check (on Spark: the link
        # components found on the cluster), and everything after scoring.
        "clustering_seconds": steps.get("checking", seconds) - steps["clustering"],
        "after_scoring_seconds": seconds - steps["clustering"],
        "scored_pairs": linkage.scored_pairs,
        "persons": len(linkage.clusters),
        "model": str(saved),
    }


def accuracy(truth_path: Path, persons_path: Path) -> dict[str, float]:
    assigned = pq.read_table(persons_path)
    person_of = dict(
        zip(assigned["unique_id"].to_pylist(), assigned["person"].to_pylist(), strict=True)
    )
    scores = score_assignments(read_truth(truth_path), person_of)
    return {
        "precision": scores.precision,
        "recall": scores.recall,
        "f1": scores.f1,
        "bcubed_f1": scores.bcubed_f1,
    }


@contextmanager
def cluster_for(args: argparse.Namespace) -> Iterator[tuple[str, int | None, int | None]]:
    """(master URL, worker pid, master pid): the one given, or a standalone cluster here."""
    if args.master:
        yield args.master, None, None
        return
    with standalone_cluster(cores=args.cores, memory=args.worker_memory) as running:
        yield running.master_url, running.worker_pid, running.master_pid


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="about this many records")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, help="world, frame and results (default: temp)")
    parser.add_argument("--master", help="a running cluster's master (default: start one here)")
    parser.add_argument("--staging", help="staging folder the executors read (default: temp)")
    parser.add_argument("--cores", type=int, default=2, help="the started worker's cores")
    parser.add_argument("--worker-memory", default="6g", help="the started worker's memory")
    parser.add_argument("--executor-memory", default="5g", help="spark.executor.memory")
    parser.add_argument(
        "--model",
        default="spark",
        help="'spark': Spark trains its own model; 'duckdb': it scores with DuckDB's; "
        "or a saved model's file",
    )
    parser.add_argument("--prepare-only", action="store_true", help="the world and frame only")
    parser.add_argument("--skip-spark", action="store_true", help="DuckDB only (its model saved)")
    parser.add_argument("--skip-duckdb", action="store_true", help="Spark only (no F1 beside)")
    args = parser.parse_args()
    if args.model == "duckdb" and args.skip_duckdb:
        parser.error("--model duckdb needs the DuckDB run")
    if args.model not in {"spark", "duckdb"} and not Path(args.model).is_file():
        parser.error(f"--model: no such model file {args.model}")
    work = args.work or Path(tempfile.mkdtemp(prefix="caseline-spark-bench-"))
    persons = round(args.records / RECORDS_PER_PERSON)
    world = work / f"world-{persons}-seed{args.seed}"
    truth_path = ensure_world(world, persons, args.seed)
    frame_path = ensure_frame(world, truth_path, work)
    records = pq.ParquetFile(frame_path).metadata.num_rows
    if args.prepare_only:
        return
    results: dict[str, dict[str, Any]] = {}
    loads = {"before": load_average()}
    console.print(f"{records:,} records; load average {loads['before']}")

    if not args.skip_duckdb:
        console.print("DuckDB ...")
        out = frame_path.parent / "duckdb-persons.parquet"
        with PeakMemory(None, None) as memory:
            run, _ = run_in_child(lambda: link(frame_path, DEFAULT_ENGINE, None, out))
        results["duckdb"] = {**run, "driver_mb": memory.driver_mb, **accuracy(truth_path, out)}
    model = {"spark": None, "duckdb": results.get("duckdb", {}).get("model")}.get(
        args.model, args.model
    )

    if args.skip_spark:
        print(json.dumps({"records": records, "results": results}))
        return
    staging = args.staging or str(work / "staging")
    config = {"spark.executor.memory": args.executor_memory}
    with cluster_for(args) as (master, worker_pid, master_pid):
        console.print(f"Spark on {master} ...")
        engine = SparkEngine(SparkPlace(master, staging, config))
        model_path = Path(model) if model else None
        out = frame_path.parent / "spark-persons.parquet"
        with (
            PeakMemory(worker_pid, master_pid) if worker_pid else nullcontext()
        ) as memory:  # a cluster elsewhere: its memory is not measured here
            run, _ = run_in_child(lambda: link(frame_path, engine, model_path, out))
        results["spark"] = {
            **run,
            "master": master,
            "driver_mb": memory.driver_mb if memory else None,
            "worker_mb": memory.worker_mb if memory else None,
            "worker_cores": None if args.master else args.cores,
            "trained_on": "spark" if model is None else str(model),
            **accuracy(truth_path, out),
        }
    loads["after"] = load_average()
    for name, figures in results.items():
        memory_said = f"driver {figures['driver_mb']:,.0f} MB" if figures["driver_mb"] else ""
        if figures.get("worker_mb"):
            memory_said += f", worker {figures['worker_mb']:,.0f} MB"
        console.print(
            f"{name:>7}: {figures['seconds']:,.1f} s, {memory_said}; F1 {figures['f1']:.4f} "
            f"(precision {figures['precision']:.4f}, recall {figures['recall']:.4f}), "
            f"{figures['persons']:,} persons"
        )
    console.print(f"load average before {loads['before']}, after {loads['after']}")
    print(
        json.dumps(
            {
                "records": records,
                "when": dt.datetime.now(dt.UTC).isoformat(timespec="minutes"),
                "cpus": os.cpu_count(),
                "load_average": loads,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
