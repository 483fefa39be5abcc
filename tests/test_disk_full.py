"""A disk that fills during an ingest: a clear error, nothing half-written, and the same file
loads whole once there is room.

The disk is made full for the ingest's process alone: its largest file size is capped
(RLIMIT_FSIZE) a little above the database's size, so SQLite's writes past it fail as on a
full disk. PostgreSQL's disk is the server's, not the client's; its own full-disk error is
answered the same way (see ``cli/app.py``)."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import IngestRun, SourceRecord
from caseline.oversight import Role, SessionPolicy, create_user, sign_in
from caseline.synth import generate_world
from tests.conftest import ADMIN, PASSWORD

ROOM = 256 * 1024  # bytes the ingest may add to the database's files before the disk is full


def _count(database: Database, model: type) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _capped_at(limit: int) -> None:
    """In the child: files may grow to ``limit`` bytes; a write past it fails (EFBIG)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_full_disk_during_an_ingest_is_said_and_leaves_nothing(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    world = generate_world(3_000, seed=3, out_dir=tmp_path / "world", workers=1)
    with database.transaction() as session:
        create_user(session, "eng", Role.DATA_ENGINEER, PASSWORD, actor=ADMIN)
    token = sign_in(database, "eng", PASSWORD, policy=SessionPolicy())
    env = {**os.environ, "CASELINE_HOME": str(settings.home), "CASELINE_TOKEN": token,
           "DATABASE_URL": settings.resolved_database_url}  # fmt: skip
    command = [sys.executable, "-m", "caseline.cli", "ingest", str(world.source_files["tax"])]
    database_file = settings.home / "caseline.db"
    size = max(p.stat().st_size for p in settings.home.glob("caseline.db*"))
    assert database_file.exists()

    full = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300,
        preexec_fn=lambda: _capped_at(size + ROOM),
    )  # fmt: skip
    assert full.returncode == 2, full.stderr
    assert "disk" in full.stderr.lower() and "full" in full.stderr.lower(), full.stderr
    assert "Traceback" not in full.stderr
    assert _count(database, IngestRun) == 0
    assert _count(database, SourceRecord) == 0

    room = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert room.returncode == 0, room.stderr
    assert _count(database, SourceRecord) == world.records_by_source["tax"]
