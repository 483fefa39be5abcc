"""`GET /api/audit/verify`: the auditor's view of whether the trail holds."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from fastapi.testclient import TestClient

from caseline.config import Settings
from caseline.db import Database
from caseline.oversight import Actor, Role, append_checkpoint, checkpoint_audit_trail
from caseline.server import create_app
from tests.conftest import PASSWORD, last_audit_seq

AUDITOR = Actor("aud", Role.AUDITOR)


def _signed_in(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_the_auditor_verifies_the_trail_and_an_analyst_may_not(
    resolved: tuple[Settings, Database],
) -> None:
    settings, database = resolved
    with TestClient(create_app(settings, database)) as client:
        auditor = _signed_in(client, "aud")
        before = last_audit_seq(database)
        body = client.get("/api/audit/verify", headers=auditor).json()
        assert body["intact"] is True and body["first_broken_seq"] is None
        assert body["events_checked"] == before and body["keyed_events"] == before
        assert last_audit_seq(database) == before  # verifying records nothing
        analyst = _signed_in(client, "ann")
        assert client.get("/api/audit/verify", headers=analyst).status_code == 403
        assert client.get("/api/audit/verify").status_code == 401


def test_the_route_finds_a_tail_cut_below_a_checkpoint(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    if database.dialect != "sqlite":
        pytest.skip("the cut is made on the SQLite file; tests/test_audit_chain.py cuts both")
    with TestClient(create_app(settings, database)) as client:
        auditor = _signed_in(client, "aud")  # signing in appends an event: before the cut
        with database.transaction() as session:
            checkpoint = checkpoint_audit_trail(session, actor=AUDITOR)
        append_checkpoint(settings.audit_checkpoint_path, checkpoint)
        with closing(sqlite3.connect(str(database.engine.url.database))) as db:
            db.execute("DROP TRIGGER audit_events_no_delete")
            db.execute("DELETE FROM audit_events WHERE seq = ?", (checkpoint.seq,))
            db.commit()
        body = client.get("/api/audit/verify", headers=auditor).json()
    assert body["intact"] is False and body["first_broken_seq"] == checkpoint.seq
    assert "cut or renumbered" in body["reason"]
