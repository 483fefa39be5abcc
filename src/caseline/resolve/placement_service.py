"""New records placed by a long-lived process: ingest a batch, then place it at once.

Opening an :class:`IncrementalResolver` on a million records takes half a minute (the model,
the kept records, their term frequencies); placing a batch with one already open takes a
second or two. So a server holds one per process (:class:`PlacementService`), opened on the
first batch (or by :meth:`PlacementService.open`), and reopened when a full run has replaced the
kept records since.

Several processes may place at once (`caseline serve` runs a worker per core), and placing
reads what is unplaced and writes where it went: two at once would place one record twice.
So a batch is ingested and placed under one lock across processes: an advisory lock on
PostgreSQL (workers may share a database from several machines), a file lock beside the
kept records on SQLite (whose workers share one machine). A batch another process placed
is read from the Parquet part it wrote before placing the next one, so every process
compares new records with every record placed so far.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from caseline.db import Database
from caseline.errors import StateError
from caseline.ingest import IngestSummary, ingest_file
from caseline.oversight import Actor
from caseline.resolve.engine import DEFAULT_ENGINE, Engine
from caseline.resolve.incremental import IncrementalResolver, IncrementalSummary
from caseline.resolve.placement_lock import placement_lock
from caseline.sources import SourceAdapter

# The resolver's step names, as a line of figures names them.
STEP_LABELS = {
    "finding existing records the new ones can meet": "candidates",
    "scoring candidate pairs": "scoring",
    "placing records": "placing and writing",
}
STEPS = ("ingest", "new records", *STEP_LABELS.values())


@dataclass(frozen=True, slots=True)
class BatchPlacement:
    """What one batch came to: its ingest, where its records went, and the seconds each
    step took (``STEPS``; a step not taken is left out)."""

    ingest: IngestSummary
    placement: IncrementalSummary
    seconds: dict[str, float] = field(default_factory=dict)
    opened_seconds: float = 0.0  # opening the resolver, when this batch had to


class PlacementService:
    """An :class:`IncrementalResolver` held between batches by one process (see the module's
    docstring). Thread-safe: one batch at a time per process, and per database."""

    def __init__(
        self,
        database: Database,
        *,
        models_dir: Path,
        threshold: float,
        identifier_key: bytes,
        engine: Engine | str = DEFAULT_ENGINE,
    ) -> None:
        self._database = database
        self._models_dir = models_dir
        self._threshold = threshold
        self._identifier_key = identifier_key
        self._engine = engine
        self._resolver: IncrementalResolver | None = None
        self._opening = threading.Lock()  # one opening at a time; batches wait for it
        self._placing = threading.Lock()

    def close(self) -> None:
        with self._opening:
            if self._resolver is not None:
                self._resolver.close()
                self._resolver = None

    def ingest_and_place(
        self,
        path: Path,
        source: str | SourceAdapter,
        *,
        actor: Actor,
        encoding: str = "utf-8-sig",
    ) -> BatchPlacement:
        """Ingest ``path`` as ``source`` (as `caseline ingest` does: bad rows quarantined,
        a file ingested before changes nothing), then place every record that belongs to no
        person yet. Raises StateError, with nothing ingested, when there is no full run to
        place against."""
        started = time.perf_counter()
        resolver = self.open()  # before ingesting: no run, nothing changed
        opened = time.perf_counter() - started
        with self._placing, placement_lock(self._database, self._models_dir):
            began = time.perf_counter()
            with self._database.transaction() as session:
                ingested = ingest_file(
                    session,
                    path,
                    source,
                    identifier_key=self._identifier_key,
                    actor=actor,
                    encoding=encoding,
                )
            seconds = {"ingest": time.perf_counter() - began}
            try:
                placement, steps = self._place(resolver, actor)
            except StateError:  # a full run replaced what the resolver holds: open anew
                self._discard(resolver)
                reopening = time.perf_counter()
                resolver = self.open()
                opened += time.perf_counter() - reopening
                placement, steps = self._place(resolver, actor)
        return BatchPlacement(ingested, placement, seconds | steps, opened)

    def _place(
        self, resolver: IncrementalResolver, actor: Actor
    ) -> tuple[IncrementalSummary, dict[str, float]]:
        """Place what is unplaced; the seconds each step took."""
        marks = [("new records", time.perf_counter())]
        placement = resolver.place(
            self._database,
            threshold=self._threshold,
            actor=actor,
            on_step=lambda name: marks.append((STEP_LABELS[name], time.perf_counter())),
        )
        marks.append(("", time.perf_counter()))
        return placement, {name: end - start for (name, start), (_, end) in pairwise(marks)}

    def open(self) -> IncrementalResolver:
        """The resolver this process holds, opened now if it is not yet (StateError: no full
        run to place against)."""
        with self._opening:
            if self._resolver is None:
                self._resolver = IncrementalResolver.open(
                    self._database, models_dir=self._models_dir, engine=self._engine
                )
            return self._resolver

    def _discard(self, resolver: IncrementalResolver) -> None:
        with self._opening:
            if self._resolver is resolver:
                self._resolver = None
        resolver.close()
