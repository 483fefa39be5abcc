"""An ingest killed part-way leaves nothing behind, and the same file then loads whole."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, IngestRun, SourceRecord
from caseline.oversight import Role, SessionPolicy, create_user, sign_in
from caseline.synth import generate_world
from tests.conftest import ADMIN

pytestmark = pytest.mark.slow


def _count(database: Database, model: type) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _wait_for_rows_being_written(database: Database, settings: Settings) -> None:
    """Until the ingest's uncommitted rows reach the database (the WAL file on SQLite, a
    lock on the records table on PostgreSQL), so the kill lands in the middle of the load."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if database.dialect == "sqlite":
            wal = settings.home / "caseline.db-wal"
            if wal.exists() and wal.stat().st_size > 500_000:
                return
        else:
            with database.engine.connect() as connection:
                writers = connection.execute(text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = 'source_records' AND l.mode = 'RowExclusiveLock' "
                    "AND l.pid <> pg_backend_pid()"
                )).scalar()  # fmt: skip
            if writers:
                time.sleep(0.5)  # and some rows into it
                return
        time.sleep(0.05)
    raise AssertionError("the ingest never started writing")


def test_a_killed_ingest_leaves_no_partial_run(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    world = generate_world(30_000, seed=4, out_dir=tmp_path / "world", workers=1)
    tax = world.source_files["tax"]
    with database.transaction() as session:
        create_user(session, "loader", Role.DATA_ENGINEER, "a long password", actor=ADMIN)
    token = sign_in(database, "loader", "a long password", policy=SessionPolicy())
    events = _count(database, AuditEvent)  # the user and the sign-in; a killed ingest adds none
    env = {**os.environ, "CASELINE_HOME": str(settings.home), "CASELINE_TOKEN": token,
           "DATABASE_URL": settings.resolved_database_url}  # fmt: skip
    command = [sys.executable, "-m", "caseline.cli", "ingest", str(tax)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _wait_for_rows_being_written(database, settings)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL, "the ingest ended before it was killed"

    assert _count(database, IngestRun) == 0
    assert _count(database, SourceRecord) == 0
    assert _count(database, AuditEvent) == events

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert _count(database, SourceRecord) == world.records_by_source["tax"]
    assert _count(database, IngestRun) == 1
