"""Resolution and a case step killed (SIGKILL) part-way: all of the work or none of it stays,
and running it again finishes it as if it had never been killed.

On PostgreSQL the kill lands while the work has written and not yet committed: the test holds
the audit chain's lock, which both take last, and kills the process once it is seen writing
and waiting for that lock. SQLite has no such point to wait at (a writer holds the database
from its first statement to its commit), so there the kill lands in the resolution's store
once its writes reach the write-ahead log, or wherever the process has got to; either way the
database must hold the old state or the whole new one. (A killed ingest: test_ingest_killed.)
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager

import pytest
from sqlalchemy import Connection, func, select, text

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, Case, CaseTransition, Person, ResolutionRun
from caseline.oversight import Actor, Role, SessionPolicy, create_user, sign_in
from caseline.oversight.audit import _CHAIN_LOCK_ID  # the lock every audited change takes last
from tests.conftest import ADMIN, PASSWORD

pytestmark = pytest.mark.slow

AS_OF = dt.date(2026, 1, 1)  # the small world's reference date


def _counts(database: Database) -> dict[str, int]:
    with database.transaction() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (ResolutionRun, Person, AuditEvent, Case, CaseTransition)
        }


def _cli(
    settings: Settings, database: Database, username: str, role: Role | None = None
) -> dict[str, str]:
    """The environment of a `caseline` command run as ``username`` (added with ``role``)."""
    if role is not None:
        with database.transaction() as session:
            create_user(session, username, role, PASSWORD, actor=ADMIN)
    token = sign_in(database, username, PASSWORD, policy=SessionPolicy())
    return {**os.environ, "CASELINE_HOME": str(settings.home), "CASELINE_TOKEN": token,
            "DATABASE_URL": settings.resolved_database_url}  # fmt: skip


@contextmanager
def _chain_held(database: Database) -> Iterator[Connection | None]:
    """On PostgreSQL, the audit chain's lock held by the test until the block ends."""
    if database.dialect != "postgresql":
        yield None
        return
    with database.engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CHAIN_LOCK_ID})
        yield connection
        connection.rollback()


def _wait_until_writing_and_blocked(
    database: Database, process: subprocess.Popen[bytes], table: str, waits_on: str | None = None
) -> None:
    """PostgreSQL: until the process has written to ``table`` and waits for a lock: on the
    table ``waits_on``, or (None) the audit chain's."""
    deadline = time.monotonic() + 240
    with database.engine.connect() as watcher:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the work ended before it could be killed"
            written, waiting = watcher.execute(text(
                "SELECT bool_or(c.relname = :table AND l.mode = 'RowExclusiveLock' AND l.granted),"
                "       bool_or(NOT l.granted AND CASE WHEN CAST(:waits_on AS text) IS NULL"
                "      THEN l.locktype = 'advisory' ELSE c.relname = CAST(:waits_on AS text) END) "
                "FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation "
                "WHERE l.pid <> pg_backend_pid()"
            ), {"table": table, "waits_on": waits_on}).one()  # fmt: skip
            watcher.rollback()
            if written and waiting:
                return
            time.sleep(0.1)
    raise AssertionError(f"the work never wrote to {table} and waited for {waits_on or 'audit'}")


def _wait_for_the_store(settings: Settings, process: subprocess.Popen[bytes]) -> None:
    """SQLite: until the resolution's store reaches the write-ahead log (or it ends)."""
    wal = settings.home / "caseline.db-wal"
    start = wal.stat().st_size if wal.exists() else 0
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if wal.exists() and wal.stat().st_size > start + 200_000:
            return
        time.sleep(0.01)


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_a_killed_resolution_leaves_the_old_persons_or_the_whole_new_run(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    env = _cli(settings, database, "eng", Role.DATA_ENGINEER)
    before = _counts(database)
    command = [sys.executable, "-m", "caseline.cli", "resolve"]
    with _chain_held(database) as held:
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if held is not None:
            _wait_until_writing_and_blocked(database, process, "persons")
        else:
            _wait_for_the_store(settings, process)
        _kill(process)
    after_kill = _counts(database)
    if held is not None or after_kill["resolution_runs"] == before["resolution_runs"]:
        assert after_kill == before  # none of the run: the old persons, no event
    else:  # SQLite committed before the kill landed: all of the run, and its one event
        assert after_kill["resolution_runs"] == before["resolution_runs"] + 1
        assert after_kill["audit_events"] == before["audit_events"] + 1

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    again = _counts(database)
    # The same records give the same persons as the run that was never killed.
    assert again["persons"] == before["persons"]
    assert again["resolution_runs"] == after_kill["resolution_runs"] + 1


def _open_case(database: Database) -> int:
    from caseline.cases import open_case

    with database.transaction() as session:
        person_id = session.scalars(
            select(Person.person_id).order_by(Person.record_count.desc(), Person.person_id)
        ).first()
        assert person_id is not None
        case = open_case(session, actor=Actor("ann", Role.ANALYST), as_of=AS_OF,
                         person_id=person_id, reason="a case to kill a step of")  # fmt: skip
    return case.id


def test_a_killed_case_step_leaves_the_case_as_it_was(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    case_id = _open_case(database)
    env = _cli(settings, database, "ann")  # who opened the case, and so works it
    before = _counts(database)
    command = [
        sys.executable, "-m", "caseline.cli", "cases", "step", str(case_id), "begin_review",
        "--version", "1", "--reason", "review the records of this person",
        "--as-of", AS_OF.isoformat(),
    ]  # fmt: skip
    if database.dialect == "postgresql":
        # The step updates the case, then adds its transition: hold the transitions' table.
        with database.engine.connect() as holder:
            holder.execute(text("LOCK TABLE case_transitions IN SHARE MODE"))
            process = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            _wait_until_writing_and_blocked(database, process, "cases", "case_transitions")
            _kill(process)
            holder.rollback()
    else:
        # The step's transaction cannot be caught half-way on SQLite: hold the database so
        # the step waits at its first statement, and kill it there.
        path = database.engine.url.database
        assert path is not None
        with closing(sqlite3.connect(path, isolation_level=None, timeout=5)) as holder:
            holder.execute("BEGIN IMMEDIATE")
            process = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(3)
            assert process.poll() is None, "the step ended before it could be killed"
            _kill(process)
            holder.execute("ROLLBACK")
    assert _counts(database) == before
    with database.transaction() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.version == 1 and case.state == "lead"

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    after = _counts(database)
    assert after["case_transitions"] == before["case_transitions"] + 1
    with database.transaction() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.version == 2 and case.state == "identity_review"
