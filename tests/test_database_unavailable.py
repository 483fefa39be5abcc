"""A database that is down, or drops the service's connections, is a 503 with Retry-After
while it lasts, never a 500, and the service recovers by itself, without a restart."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from caseline.config import Settings, load_settings
from caseline.db import Database
from caseline.server import create_app
from tests.conftest import PASSWORD
from tests.web_support import web_sign_in

# Nothing listens on the discard port of this machine: a server that is down.
DOWN_URL = "postgresql+psycopg://caseline@127.0.0.1:9/caseline"
SEARCH = {"q": "garcia", "purpose": "case 12: who is this"}


@pytest.fixture
def down(tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(home=tmp_path, database_url=DOWN_URL)
    database = Database(DOWN_URL)
    with TestClient(create_app(settings, database)) as client:
        yield client
    database.dispose()


def test_a_database_that_is_down_is_a_503_saying_when_to_try_again(down: TestClient) -> None:
    answer = down.get("/api/persons", params=SEARCH, headers={"Authorization": "Bearer x" * 3})
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"].isdigit()
    assert "busy or unreachable" in answer.json()["detail"]
    signed_in = down.post("/api/sessions", json={"username": "ann", "password": PASSWORD})
    assert signed_in.status_code == 503 and "Retry-After" in signed_in.headers


def test_a_page_while_the_database_is_down_says_so_in_words(down: TestClient) -> None:
    down.cookies.set("caseline_session", "a-session-the-site-cannot-check")
    page = down.get("/", params={"q": "garcia"})
    assert page.status_code == 503
    assert "text/html" in page.headers["content-type"]
    assert "Busy for a moment" in page.text and "Try again shortly" in page.text
    assert "Traceback" not in page.text


def test_the_503_is_declared_in_the_api_document(down: TestClient) -> None:
    spec = down.get("/openapi.json").json()
    answers = spec["paths"]["/api/persons"]["get"]["responses"]
    assert "503" in answers


def _pool_backend_pids(database: Database) -> set[int]:
    """The server processes behind every connection the pool keeps."""
    with ExitStack() as stack:
        connections = [
            stack.enter_context(database.engine.connect())
            for _ in range(max(1, database.engine.pool.checkedin()))  # type: ignore[attr-defined]
        ]
        return {c.execute(text("SELECT pg_backend_pid()")).scalar_one() for c in connections}


# SQLite has no server to lose (tests/test_killed_work.py covers its faults).
@pytest.mark.parametrize("resolved", ["postgresql"], indirect=True)
def test_the_service_recovers_by_itself_when_its_connections_are_cut(
    resolved: tuple[Settings, Database],
) -> None:
    settings, shared = resolved
    database = Database(settings.resolved_database_url)
    try:
        with TestClient(create_app(settings, database)) as client:
            web_sign_in(client, "ann", PASSWORD)
            assert client.get("/", params={"q": "garcia"}).status_code == 200
            pids = _pool_backend_pids(database)
            with shared.engine.connect() as admin:  # as a restart does to every connection
                for pid in pids:
                    admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            # The pool finds its connections dead before lending them, and opens new ones.
            assert client.get("/", params={"q": "garcia"}).status_code == 200
            assert not pids & _pool_backend_pids(database)
    finally:
        database.dispose()


@pytest.mark.parametrize("resolved", ["postgresql"], indirect=True)
def test_a_statement_over_the_timeout_is_a_503_and_frees_the_connection(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, shared = mutable_resolved
    database = Database(settings.resolved_database_url, statement_timeout_seconds=0.3)
    try:
        with TestClient(create_app(settings, database)) as client:
            web_sign_in(client, "ann", PASSWORD)
            with shared.engine.connect() as holder:  # a query that would wait for ever
                holder.execute(text("LOCK TABLE user_sessions IN ACCESS EXCLUSIVE MODE"))
                started = time.monotonic()
                page = client.get("/", params={"q": "garcia"})
                waited = time.monotonic() - started
                holder.rollback()
            assert page.status_code == 503 and waited < 5, (page.status_code, waited)
            assert client.get("/", params={"q": "garcia"}).status_code == 200
    finally:
        database.dispose()


def _free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_runs_the_workers_it_is_asked_for(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "CASELINE_HOME": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "caseline.cli", "serve", "--port", str(port),
               "--workers", "2"]  # fmt: skip
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        answered = None
        while time.monotonic() < deadline and answered is None:
            assert server.poll() is None, server.communicate()[1].decode()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as reply:
                    answered = reply.status
            except OSError:
                time.sleep(0.5)
        assert answered == 200
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) >= 2, children  # uvicorn's workers (and its process watcher)
    finally:
        server.terminate()
        server.wait(timeout=30)
