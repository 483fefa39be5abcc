"""Shared fixtures: generated worlds, and databases on SQLite and (when configured) PostgreSQL.

PostgreSQL runs when DATABASE_URL (or CASELINE_TEST_DATABASE_URL) names a server; each test
gets a schema of its own. In CI (CI=true) a missing server fails the run instead of skipping.

`resolved`, the small world ingested and resolved with a user per role, is built once per
backend in a session (each pytest-xdist worker is a session of its own; the SQLite one is
built once for all of them and copied) and shared: a test reads it and never changes it. A
test that changes it (ingests, resolves again, records a decision) takes `mutable_resolved`,
a copy of its own. After each module the shared world is checked to be as built, but for
what reading writes: audit events, sign-in sessions and counted sign-in failures. So a test
that looks for its audit events looks only past `last_audit_seq`, taken before it acts.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from caseline.config import Settings, load_settings
from caseline.db import Database, upgrade_to_head
from caseline.db.models import AuditEvent, Base
from caseline.ingest import ingest_file
from caseline.oversight import Actor, Role, create_user
from caseline.resolve import resolve_persons
from caseline.synth import WorldSummary, generate_world

POSTGRES_URL = os.environ.get("CASELINE_TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", "postgresql"]
OPERATOR = Actor("test-operator", Role.DATA_ENGINEER)  # who loads and resolves in fixtures
ADMIN = Actor("test-admin", Role.ADMIN)  # who adds users in fixtures
# The resolved world's users, one per role that reads persons; all sign in with PASSWORD.
USERS = {"ann": Role.ANALYST, "sam": Role.SUPERVISOR, "lee": Role.LEGAL, "aud": Role.AUDITOR}
PASSWORD = "correct horse battery"


@contextmanager
def _database_url(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'caseline.db'}"
        return
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail("CI must run the PostgreSQL tests: DATABASE_URL is not set")
        pytest.skip("PostgreSQL tests need DATABASE_URL (set by .ci/run)")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _settings(home: Path, url: str) -> Settings:
    return load_settings(home=home, database_url=url)


@pytest.fixture(scope="session", autouse=True)
def audit_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One audit key for every workspace of the run (CASELINE_AUDIT_KEY_FILE): a PostgreSQL
    schema has no folder to keep one in, and the commands a test runs on a workspace, with a
    CASELINE_HOME of their own, must find the key its events were hashed with."""
    run = tmp_path_factory.getbasetemp()
    path = (run.parent if os.environ.get("PYTEST_XDIST_WORKER") else run) / "audit.key"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CASELINE_AUDIT_KEY_FILE", str(path))
        yield path


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings of a fresh, migrated workspace, once per database backend."""
    with _database_url(request.param, tmp_path) as url:
        upgrade_to_head(url)
        yield _settings(tmp_path, url)


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    database = Database(settings.resolved_database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    """300 persons and their records: enough to resolve in seconds."""
    return generate_world(300, seed=11, out_dir=tmp_path_factory.mktemp("world"))


def load_world(database: Database, settings: Settings, world: WorldSummary) -> None:
    for source, path in world.source_files.items():
        with database.transaction() as session:
            ingest_file(
                session, path, source, identifier_key=settings.identifier_key, actor=OPERATOR
            )


# What reading a workspace writes: the shared world may differ from its build only here.
WRITTEN_BY_READS = {"audit_events", "user_sessions", "sign_in_throttles"}


def _row_counts(database: Database) -> dict[str, int]:
    with database.engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
            if table.name not in WRITTEN_BY_READS
        }


class ResolvedWorlds:
    """The session's resolved worlds, each built on first use: one per backend.

    Under pytest-xdist (``shared``: a folder all the run's workers see) the SQLite world is
    built once for the run, by the first worker to need it, and each worker works on a copy.
    """

    def __init__(self, root: Path, world: WorldSummary, shared: Path | None) -> None:
        self.root, self.world, self.shared = root, world, shared
        self.built: dict[str, tuple[Settings, Database]] = {}
        self.row_counts: dict[str, dict[str, int]] = {}
        self.failed: dict[str, Exception] = {}
        self.cleanup = ExitStack()

    def get(self, backend: str) -> tuple[Settings, Database]:
        if backend in self.failed:  # built once, failed once: every test says why
            raise RuntimeError(f"the resolved world on {backend} failed to build") from (
                self.failed[backend]
            )
        if backend not in self.built:
            try:
                self.built[backend] = self._build(backend)
            except Exception as exc:
                self.failed[backend] = exc
                raise
            self.row_counts[backend] = _row_counts(self.built[backend][1])
        return self.built[backend]

    def _build(self, backend: str) -> tuple[Settings, Database]:
        home = self.root / backend
        if backend == "sqlite" and self.shared is not None:
            shared = self._shared_sqlite()
            original = Database(shared.resolved_database_url)
            try:
                return self.cleanup.enter_context(copy_workspace(shared, original, home))
            finally:
                original.dispose()
        home.mkdir(exist_ok=True)
        url = self.cleanup.enter_context(_database_url(backend, home))
        settings, database = _settings(home, url), Database(url)
        self.cleanup.callback(database.dispose)
        self._populate(settings, database)
        return settings, database

    def _shared_sqlite(self) -> Settings:
        """The run's SQLite world, built by whichever worker holds the lock first."""
        assert self.shared is not None
        home = self.shared / "resolved-sqlite"
        with (self.shared / "resolved-sqlite.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if not (home / "built").exists():
                shutil.rmtree(home, ignore_errors=True)  # what a failed build left
                home.mkdir()
                settings = _settings(home, f"sqlite:///{home / 'caseline.db'}")
                database = Database(settings.resolved_database_url)
                try:
                    self._populate(settings, database)
                finally:
                    database.dispose()
                (home / "built").touch()
        return _settings(home, f"sqlite:///{home / 'caseline.db'}")

    def _populate(self, settings: Settings, database: Database) -> None:
        """Migrate, ingest the small world, resolve it, and add the users."""
        upgrade_to_head(settings.resolved_database_url)
        load_world(database, settings, self.world)
        resolve_persons(
            database,
            models_dir=settings.models_dir,
            threshold=settings.match_threshold,
            actor=OPERATOR,
        )
        with database.transaction() as session:
            for username, role in USERS.items():
                create_user(session, username, role, PASSWORD, actor=ADMIN)


@pytest.fixture(scope="session")
def resolved_worlds(
    tmp_path_factory: pytest.TempPathFactory, small_world: WorldSummary
) -> Iterator[ResolvedWorlds]:
    # pytest-xdist's workers each have a basetemp of their own, in one folder per run.
    shared = (
        tmp_path_factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") else None
    )
    worlds = ResolvedWorlds(tmp_path_factory.mktemp("resolved"), small_world, shared)
    with worlds.cleanup:
        yield worlds


@pytest.fixture(scope="module", params=BACKENDS)
def resolved(
    request: pytest.FixtureRequest, resolved_worlds: ResolvedWorlds
) -> Iterator[tuple[Settings, Database]]:
    """The small world ingested and resolved, with the users in USERS: shared by every test
    of the session on one backend, so read it and never change it (see mutable_resolved)."""
    settings, database = resolved_worlds.get(request.param)
    yield settings, database
    built, now = resolved_worlds.row_counts[request.param], _row_counts(database)
    if now != built:
        resolved_worlds.row_counts[request.param] = now  # report it once, in this module
        changed = {
            table: f"{built[table]} -> {now[table]}" for table in now if now[table] != built[table]
        }
        pytest.fail(
            f"{request.module.__name__} changed the shared resolved world ({changed}); "
            "a test that changes it takes mutable_resolved"
        )


@pytest.fixture(scope="session")
def small_world_model(resolved_worlds: ResolvedWorlds) -> Path:
    """The model the small world's resolution trained (on SQLite), for a test that resolves
    the small world's records again without training a model of its own."""
    settings, _ = resolved_worlds.get("sqlite")
    return sorted(settings.models_dir.glob("*.json"))[-1]


@pytest.fixture
def mutable_resolved(
    resolved: tuple[Settings, Database], tmp_path: Path
) -> Iterator[tuple[Settings, Database]]:
    """A copy of the resolved world, the test's own to change."""
    with copy_workspace(*resolved, tmp_path / "copy") as copy:
        yield copy


@contextmanager
def copy_workspace(
    settings: Settings, database: Database, home: Path
) -> Iterator[tuple[Settings, Database]]:
    """A copy of a workspace in ``home``: its folder (models, identifier key) and its database.
    SQLite is copied by SQLite's backup; PostgreSQL into a new schema, migrated, by copying
    each table's rows. Either takes seconds; building the world again trains a model."""
    ignored = shutil.ignore_patterns("caseline.db*")
    shutil.copytree(settings.home, home, ignore=ignored, dirs_exist_ok=True)
    backend = "sqlite" if database.dialect == "sqlite" else "postgresql"
    with _database_url(backend, home) as url:
        if backend == "sqlite":
            with (
                closing(sqlite3.connect(str(database.engine.url.database))) as source,
                closing(sqlite3.connect(home / "caseline.db")) as target,
            ):
                source.backup(target)
            copy = Database(url)
        else:
            upgrade_to_head(url)
            copy = Database(url)
            _copy_rows(database, copy)
        try:
            yield _settings(home, url), copy
        finally:
            copy.dispose()


def _copy_rows(source: Database, target: Database) -> None:
    """Every table's rows from the source's PostgreSQL schema into the target's, and each
    sequence set past the ids copied."""
    with source.engine.connect() as connection:
        old = connection.execute(text("SELECT current_schema()")).scalar_one()
    with target.engine.begin() as connection:
        new = connection.execute(text("SELECT current_schema()")).scalar_one()
        for table in Base.metadata.sorted_tables:  # parents before children
            columns = ", ".join(f'"{column.name}"' for column in table.columns)
            connection.execute(text(
                f'INSERT INTO "{new}"."{table.name}" ({columns}) '  # noqa: S608 (our own names)
                f'SELECT {columns} FROM "{old}"."{table.name}"'
            ))  # fmt: skip
        sequences = connection.execute(text(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema"
            " = :schema AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')"
        ), {"schema": new}).all()  # fmt: skip
        for name, column in sequences:
            table = f'"{new}"."{name}"'
            sequence = f"pg_get_serial_sequence('{table}', '{column}')"
            connection.execute(text(
                f'SELECT setval({sequence}, COALESCE(MAX("{column}"), 0) + 1, false) FROM {table}'  # noqa: S608
            ))  # fmt: skip


def last_audit_seq(database: Database) -> int:
    """The newest audit event's number: a test that looks for the events it causes looks
    past it, since tests reading the shared world write events of their own into it."""
    with database.transaction() as session:
        return session.scalar(select(func.max(AuditEvent.seq))) or 0


CHROMIUM = os.environ.get("CASELINE_BROWSER", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, object]) -> dict[str, object]:
    """Launch the system's Chromium: Playwright cannot download its own browser here."""
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"CI must run the browser tests: no Chromium at {CHROMIUM}")
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }
