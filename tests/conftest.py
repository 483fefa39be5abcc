"""Shared fixtures: generated worlds, and databases on SQLite and (when configured) PostgreSQL.

PostgreSQL runs when DATABASE_URL (or CASELINE_TEST_DATABASE_URL) names a server; each test
gets a schema of its own. In CI (CI=true) a missing server fails the run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from caseline.config import Settings, load_settings
from caseline.db import Database, upgrade_to_head
from caseline.ingest import ingest_file
from caseline.oversight import Actor, Role
from caseline.resolve import resolve_persons
from caseline.synth import WorldSummary, generate_world

POSTGRES_URL = os.environ.get("CASELINE_TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", "postgresql"]
OPERATOR = Actor("test-operator", Role.DATA_ENGINEER)  # who loads and resolves in fixtures
ADMIN = Actor("test-admin", Role.ADMIN)  # who adds users in fixtures


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


@pytest.fixture(scope="module", params=BACKENDS)
def resolved(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    small_world: WorldSummary,
) -> Iterator[tuple[Settings, Database]]:
    """A workspace holding the small world, ingested and resolved, once per module and backend."""
    home = tmp_path_factory.mktemp("resolved")
    with _database_url(request.param, home) as url:
        upgrade_to_head(url)
        settings = _settings(home, url)
        database = Database(url)
        load_world(database, settings, small_world)
        resolve_persons(
            database,
            models_dir=settings.models_dir,
            threshold=settings.match_threshold,
            actor=OPERATOR,
        )
        yield settings, database
        database.dispose()


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
