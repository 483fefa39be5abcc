"""A workspace served for a benchmark: the environment that points Caseline at it, the
documented ``caseline demo`` command that builds it, ``caseline serve`` on a free port of
127.0.0.1 in a process of its own, and the percentile its timings are summed up by.

``benchmarks/load.py`` and ``benchmarks/page_speed.py`` both build a workspace once and
time a served Caseline over it; they serve it the same way, so their figures are of the
same server.
"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

START_SECONDS = 120  # how long a server may take to answer its sign-in page


def workspace_env(work: Path, database_url: str | None) -> dict[str, str]:
    """This process's environment with Caseline's home at ``work`` and its database at
    ``database_url`` (None: the workspace's own SQLite file, whatever DATABASE_URL says)."""
    env = {**os.environ, "CASELINE_HOME": str(work)}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def demo_command(persons: int, seed: int) -> list[str]:
    """``caseline demo`` building a workspace of ``persons`` persons, without serving it."""
    return [
        sys.executable,
        "-m",
        "caseline.cli",
        "demo",
        "--persons",
        str(persons),
        "--seed",
        str(seed),
        "--no-serve",
    ]


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value at least ``share`` per cent reach
    (NaN for no values)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share / 100 * len(ordered)) - 1)] if ordered else math.nan


@contextmanager
def served(
    work: Path, database_url: str | None, *, log_name: str, workers: int | None = None
) -> Iterator[str]:
    """``caseline serve`` (with ``--workers`` when given) on a free port of 127.0.0.1, its
    output in ``work / log_name``; its URL once it answers its sign-in page. Exits naming
    the log if it stops or does not answer within ``START_SECONDS``; stopped on leaving."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    log = (work / log_name).open("w")
    command = [sys.executable, "-m", "caseline.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    server = subprocess.Popen(
        command, env=workspace_env(work, database_url), stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if requests.get(base + "/login", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"{Path(sys.argv[0]).stem}: the server did not start; see {log.name}")
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
