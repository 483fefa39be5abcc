"""Run a generator in a forked worker process and read what it yields in this one.

Ingest prepares blocks (reading, standardising, hashing: pure work) in the worker while this
process writes them to the database, so the two overlap on two cores. The worker is forked,
so it starts with everything this process has (the adapter, the keys already stored); it
touches no database. A failure in the worker is raised here; if this process stops reading
(a failure), the worker is ended; if this process is killed, the worker ends when its pipe
breaks, at its next block.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from caseline.errors import InputError

T = TypeVar("T")
_ITEM, _FAILED, _DONE = "item", "failed", "done"


def in_worker_process(produce: Callable[[], Iterator[T]]) -> Iterator[T]:
    """The items ``produce()`` yields, made in a forked process (at most a few ahead)."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_produce_into, args=(produce, sender, receiver), daemon=True)
    process.start()
    sender.close()
    try:
        while True:
            try:
                kind, payload, where = receiver.recv()
            except EOFError:
                raise RuntimeError(
                    f"the ingest worker process ended unexpectedly (exit code {process.exitcode})"
                ) from None
            if kind == _ITEM:
                yield payload
            elif kind == _FAILED:
                if isinstance(payload, InputError):
                    payload.where = where
                raise payload
            else:
                return
    finally:
        receiver.close()
        if process.is_alive():
            process.terminate()
        process.join()


def _produce_into(
    produce: Callable[[], Iterator[Any]], sender: Connection, receiver: Connection
) -> None:
    # The worker's copy of the reading end is closed at once: were it kept, a send after
    # this process's reader had died would wait forever for itself, and the worker would
    # live on holding copies of the reader's database connections (on PostgreSQL, keeping
    # a killed load's transaction and its locks open).
    receiver.close()
    try:
        for item in produce():
            sender.send((_ITEM, item, None))
    except BrokenPipeError:
        return  # the reader has gone
    except Exception as exc:  # noqa: BLE001 - every failure is the reader's to raise
        sender.send((_FAILED, exc, getattr(exc, "where", None)))
        return
    sender.send((_DONE, None, None))
