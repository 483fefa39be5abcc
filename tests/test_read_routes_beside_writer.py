"""Routes that only read (and record their reads) do their reads beside the one writer on
SQLite: a report and the audit trail page are read while a writer holds the write lock,
and each waits only to append its audit event, which it does once the lock is free.

Each route calls its service through ``Database.reading()``; were it to use
``Database.transaction()`` it would wait for the write lock before reading anything, and
the service would not be reached while the writer holds it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import caseline.api.routes.reports as report_routes
import caseline.web.audit as audit_pages
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent
from caseline.server import create_app
from tests.conftest import PASSWORD, last_audit_seq

WAIT = 20.0  # seconds a step may take before the test calls it stuck


def _events(database: Database, after: int) -> list[str]:
    """The actions recorded after ``after``, read without the write lock."""
    with database.reading() as session:
        return list(
            session.scalars(
                select(AuditEvent.action).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
            )
        )


@pytest.mark.parametrize(
    ("path", "module", "service", "action"),
    [
        ("/api/reports/reads-by-user", report_routes, "read_report", "read_report"),
        ("/audit", audit_pages, "read_trail", "read_audit_trail"),
    ],
    ids=["report API", "audit trail page"],
)
@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_a_read_route_reads_while_a_writer_holds_the_lock_and_waits_only_for_its_event(
    resolved: tuple[Settings, Database],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    module: ModuleType,
    service: str,
    action: str,
) -> None:
    settings, database = resolved
    read_done = threading.Event()
    original: Callable[..., Any] = getattr(module, service)

    def observed(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        read_done.set()
        return found

    monkeypatch.setattr(module, service, observed)
    held, release = threading.Event(), threading.Event()

    def writer() -> None:
        with database.transaction() as session:
            session.connection()  # SQLite: BEGIN IMMEDIATE, the write lock, taken now
            held.set()
            assert release.wait(WAIT)

    with TestClient(create_app(settings, database)) as client:
        signed_in = client.post("/api/sessions", json={"username": "aud", "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        headers = {"Authorization": f"Bearer {signed_in.json()['token']}"}
        since = last_audit_seq(database)
        holding = threading.Thread(target=writer)
        answer: list[tuple[int, str]] = []

        def read() -> None:
            response = client.get(path, headers=headers)
            answer.append((response.status_code, response.text))

        request = threading.Thread(target=read)
        holding.start()
        assert held.wait(WAIT)
        request.start()
        try:
            # The reads do not wait for the writer...
            assert read_done.wait(WAIT), f"{path} waited for the writer's lock to read"
            # ...but the answer does, until its event is appended.
            assert answer == []
            assert action not in _events(database, since)
        finally:
            release.set()
            holding.join(WAIT)
            request.join(WAIT)
    assert [status for status, _ in answer] == [200], answer
    assert _events(database, since).count(action) == 1
