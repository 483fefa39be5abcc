"""One process at a time places records: placing reads what is unplaced and writes where
it went, so two at once would place one record twice."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from caseline.db import Database

_LOCK_KEY = "caseline-placement"  # the advisory lock's name on PostgreSQL


@contextmanager
def placement_lock(database: Database, models_dir: Path) -> Iterator[None]:
    """Hold the lock that lets one process at a time place records (and ingest the batch
    it places): an advisory lock on PostgreSQL, whose workers may be on several machines; a
    file lock beside the kept records on SQLite, whose processes share one machine."""
    if database.dialect == "postgresql":
        with database.engine.connect() as held:
            held = held.execution_options(isolation_level="AUTOCOMMIT")
            held.execute(text("SELECT pg_advisory_lock(hashtext(:key))"), {"key": _LOCK_KEY})
            try:
                yield
            finally:
                held.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": _LOCK_KEY})
        return
    models_dir.mkdir(parents=True, exist_ok=True)
    with (models_dir / "placing.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield
