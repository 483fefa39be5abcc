"""Time and peak memory of generating a synthetic world.

    .venv/bin/python benchmarks/generate_world.py --persons 1000000 --runs 3

Prints one line per run and a JSON summary with the median wall time and the peak resident
memory of the main process and of the largest worker (their sum bounds the whole run).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

_ONE_RUN = """
import json, resource, sys, time
from pathlib import Path
from caseline.synth import generate_world
start = time.perf_counter()
persons, seed, out, file_format = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
world = generate_world(persons, seed, out, file_format=file_format)
seconds = time.perf_counter() - start
print(json.dumps({
    "seconds": seconds,
    "records": sum(world.records_by_source.values()),
    "main_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--format", default="csv", choices=("csv", "parquet"))
    args = parser.parse_args()
    results = []
    for run in range(args.runs):
        out = Path(tempfile.mkdtemp(prefix="caseline-world-"))
        try:
            # A fresh process per run, so caches and peak memory start from nothing.
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _ONE_RUN,
                    str(args.persons),
                    str(args.seed),
                    str(out),
                    args.format,
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            size = sum(f.stat().st_size for f in out.iterdir()) / 1e6
        finally:
            shutil.rmtree(out, ignore_errors=True)
        result["output_mb"] = size
        results.append(result)
        print(
            f"run {run + 1}: {result['seconds']:.1f} s, {result['records']:,} records, "
            f"main {result['main_peak_mb']:.0f} MB, "
            f"largest worker {result['worker_peak_mb']:.0f} MB, "
            f"{size:.0f} MB written",
            flush=True,
        )
    summary = {
        "persons": args.persons,
        "runs": args.runs,
        "median_seconds": round(statistics.median(r["seconds"] for r in results), 1),
        "records": results[0]["records"],
        "peak_memory_mb": round(max(r["main_peak_mb"] + r["worker_peak_mb"] for r in results)),
        "persons_per_second": round(
            args.persons / statistics.median(r["seconds"] for r in results)
        ),
        "cpu_count": len(__import__("os").sched_getaffinity(0)),
        "maxrss_self_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
