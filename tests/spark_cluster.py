"""A Spark standalone cluster on this machine: a master and one worker, bound to 127.0.0.1.

Both run from the Spark that the pyspark package ships (``$SPARK_HOME/bin/spark-class``),
each a Java process of its own, on free ports with their web UIs on free ports too. The
tests that resolve on a cluster start one (`standalone_cluster`), and so does
benchmarks/spark_cluster.py; nothing of Caseline's own code starts clusters.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).parent
REGISTRATION_SECONDS = 60.0  # a worker registers within seconds; a minute is a failure


@dataclass(frozen=True, slots=True)
class StandaloneCluster:
    master_url: str  # spark://127.0.0.1:PORT
    master_pid: int
    worker_pid: int
    logs: Path  # the master's and the worker's output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def standalone_cluster(*, cores: int = 1, memory: str = "1g") -> Iterator[StandaloneCluster]:
    """A master and one worker with ``cores`` and ``memory`` for executors, registered;
    both stopped (and their work folders removed) on leaving."""
    folder = Path(tempfile.mkdtemp(prefix="caseline-spark-cluster-"))
    env = {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(folder),
        "SPARK_WORKER_DIR": str(folder / "work"),
        "PYSPARK_PYTHON": sys.executable,
    }
    port = free_port()
    master_url = f"spark://127.0.0.1:{port}"
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, *arguments: str) -> subprocess.Popen[bytes]:
        with (folder / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [spark_class, *arguments],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as one
            )
        started.append(process)
        return process

    try:
        master = start(
            "master",
            "org.apache.spark.deploy.master.Master",
            *("--host", "127.0.0.1", "--port", str(port), "--webui-port", str(free_port())),
        )
        _wait_for(folder / "master.log", r"I have been elected leader", master)
        worker = start(
            "worker",
            "org.apache.spark.deploy.worker.Worker",
            *("--host", "127.0.0.1", "--webui-port", str(free_port())),
            *("--cores", str(cores), "--memory", memory, master_url),
        )
        _wait_for(folder / "worker.log", r"Successfully registered with master", worker)
        yield StandaloneCluster(master_url, master.pid, worker.pid, folder)
    finally:
        for process in reversed(started):
            _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for(log: Path, pattern: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + REGISTRATION_SECONDS
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if re.search(pattern, text):
            return
        if process.poll() is not None:
            raise RuntimeError(f"{log.stem} exited ({process.returncode}):\n{text[-2000:]}")
        time.sleep(0.2)
    raise RuntimeError(f"{log.stem}: no {pattern!r} within {REGISTRATION_SECONDS:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the process's group (spark-class runs java as a child), politely, then not."""
    for sent, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        if process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sent)
        with suppress(subprocess.TimeoutExpired):
            process.wait(wait)
