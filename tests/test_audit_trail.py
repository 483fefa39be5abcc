"""The audit trail read as it is, by auditors: the package, the API, the command line and the
page give the same events, newest first, narrowed by who, what, about and days; reading is
itself an event; other roles are refused."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from caseline.cli import app as cli
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent
from caseline.errors import AccessDenied, InputError
from caseline.oversight import Actor, Period, Role, TrailFilters, read_trail
from caseline.server import create_app
from tests.cli_support import CLI_USERS, add_cli_users, cli_login
from tests.conftest import PASSWORD, last_audit_seq
from tests.web_support import web_sign_in

AUD = Actor("aud", Role.AUDITOR)
EVERY_DAY = Period.of(None)


def _read(database: Database, **options: object) -> object:
    filters = TrailFilters(
        options.pop("period", EVERY_DAY),  # type: ignore[arg-type]
        who=options.pop("who", None),  # type: ignore[arg-type]
        what=options.pop("what", None),  # type: ignore[arg-type]
        about=options.pop("about", None),  # type: ignore[arg-type]
    )
    with database.transaction() as session:
        return read_trail(session, actor=AUD, filters=filters, **options)  # type: ignore[arg-type]


def test_the_trail_comes_newest_first_and_narrows_and_reading_it_is_recorded(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    with database.transaction() as session:
        count = session.scalar(select(func.count()).select_from(AuditEvent))
        action, operator, held = session.execute(
            select(AuditEvent.action, AuditEvent.actor, func.count())
            .group_by(AuditEvent.action, AuditEvent.actor)
            .order_by(func.count().desc(), AuditEvent.action)
            .limit(1)
        ).one()
    since = last_audit_seq(database)
    page = _read(database, limit=5)
    assert page.total == count and [e.seq for e in page.events] == list(  # type: ignore[attr-defined]
        range(since, since - 5, -1)
    )
    with database.transaction() as session:
        read = session.scalars(select(AuditEvent).where(AuditEvent.seq > since)).one()
    assert (read.action, read.actor, read.details["shown"]) == ("read_audit_trail", "aud", 5)
    only = _read(database, what=action, who=operator.upper(), limit=200)
    assert only.total == held and {e.action for e in only.events} == {action}  # type: ignore[attr-defined]
    assert _read(database, period=Period.of(dt.date(2000, 1, 1), dt.date(2000, 1, 2))).total == 0  # type: ignore[attr-defined]
    # Each read is a new event on top, so a later page starts that many events lower.
    second = _read(database, limit=5, offset=5)
    seqs = [e.seq for e in second.events]  # type: ignore[attr-defined]
    assert seqs == sorted(seqs, reverse=True) and seqs[0] == last_audit_seq(database) - 1 - 5


def test_only_auditors_read_the_trail_and_pages_are_bounded(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    with database.transaction() as session:
        for role in (Role.ANALYST, Role.ADMIN, Role.DATA_ENGINEER, Role.SUPERVISOR):
            with pytest.raises(AccessDenied):
                read_trail(session, actor=Actor("x", role), filters=TrailFilters(EVERY_DAY))
        with pytest.raises(InputError, match="limit"):
            read_trail(session, actor=AUD, filters=TrailFilters(EVERY_DAY), limit=0)


@pytest.fixture(scope="module")
def client(resolved: tuple[Settings, Database]) -> Iterator[TestClient]:
    with TestClient(create_app(*resolved)) as test_client:
        yield test_client


def _bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_the_api_and_the_page_show_the_same_events_to_auditors_only(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    _, database = resolved
    auditor = _bearer(client, "aud")
    body = client.get(
        "/api/audit/events", params={"what": "sign_in", "limit": 3}, headers=auditor
    ).json()
    assert body["total"] >= 1 and all(e["action"] == "sign_in" for e in body["events"])
    assert client.get("/api/audit/events", headers=_bearer(client, "ann")).status_code == 403
    assert client.get("/api/audit/events").status_code == 401
    bad = client.get("/api/audit/events", params={"from": "2262-04-12"}, headers=auditor)
    assert bad.status_code == 422

    with TestClient(client.app) as browser:
        web_sign_in(browser, "aud", PASSWORD)
        page = browser.get("/audit", params={"what": "sign_in"})
        assert page.status_code == 200
        newest = client.get(
            "/api/audit/events", params={"what": "sign_in", "limit": 1}, headers=auditor
        ).json()["events"][0]
        assert f'data-seq="{newest["seq"]}"' in page.text
        assert "Audit trail" in page.text and 'href="/audit"' in page.text  # in the header
        web_sign_in(browser, "ann", PASSWORD)
        assert browser.get("/audit").status_code == 403
    with database.transaction() as session:
        reads = session.scalars(
            select(AuditEvent.actor).where(AuditEvent.action == "read_audit_trail")
        ).all()
    assert reads.count("aud") >= 3


def test_the_command_line_prints_the_events_or_their_json(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("CASELINE_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CASELINE_TOKEN", raising=False)
    add_cli_users(runner)
    auditor = cli_login(runner, "auditor")
    result = runner.invoke(cli, ["audit", "events", "--what", "add_user", "--json"], env=auditor)
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    # The first admin, then one user per role the command-line tests use.
    assert len(events) == len(CLI_USERS) + 1 and {e["action"] for e in events} == {"add_user"}
    assert events[0]["seq"] > events[-1]["seq"]
    table = runner.invoke(cli, ["audit", "events", "--limit", "2"], env=auditor)
    assert table.exit_code == 0 and "of " in table.output
    refused = runner.invoke(cli, ["audit", "events"], env=cli_login(runner, "engineer"))
    assert refused.exit_code == 2
