"""The ingest worker process never outlives the process that reads from it."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from caseline.ingest.worker import in_worker_process


def _numbers() -> Iterator[int]:
    yield from itertools.count()


def _reader(report: Connection) -> None:
    """Reads one item from a worker, says which process the worker is, then waits."""
    for _ in in_worker_process(_numbers):
        children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
        report.send(int(children[0]))
        time.sleep(600)


def _ended(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status  # ended, not yet reaped by whoever adopted it


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_a_worker_whose_reader_is_killed_ends() -> None:
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    reader = context.Process(target=_reader, args=(sender,))
    reader.start()
    worker = receiver.recv()
    os.kill(reader.pid or 0, signal.SIGKILL)
    reader.join()
    deadline = time.monotonic() + 30
    while not _ended(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _ended(worker), "the worker lived on after its reader was killed"


def test_a_failure_in_the_worker_is_raised_in_the_reader() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("row 2 is bad")

    seen = []
    with pytest.raises(ValueError, match="row 2 is bad"):
        seen.extend(in_worker_process(failing))
    assert seen == [1]
