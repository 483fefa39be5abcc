"""Retention from the command line, the JSON API and the /retention page, on the small world
of tests/test_retention.py: the same preview, one purge, the same flags, each for its roles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from caseline.cli import app as cli
from caseline.config import Settings, load_settings
from caseline.db import Database
from caseline.db.models import AuditEvent, RetentionFlag, SourceRecord
from caseline.oversight import Role, create_user
from caseline.server import create_app
from tests.cli_support import add_cli_users, cli_login
from tests.conftest import ADMIN, PASSWORD
from tests.test_retention import _build
from tests.web_support import csrf_of, web_sign_in

runner = CliRunner()
PERIODS = {"utility": 3650}


def _record_count(database: Database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(SourceRecord)) or 0


# The command line


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A SQLite workspace with the command line's users and the small world."""
    monkeypatch.setenv("CASELINE_HOME", str(tmp_path))
    monkeypatch.setenv("CASELINE_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    monkeypatch.setenv("CASELINE_RETENTION_DAYS", json.dumps(PERIODS))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CASELINE_TOKEN", raising=False)
    add_cli_users(runner)
    database = Database(load_settings().resolved_database_url)
    with database.transaction() as session:
        _build(session)
    yield database
    database.dispose()


def test_the_command_line_shows_applies_and_lists_flags(workspace: Database) -> None:
    admin, auditor = cli_login(runner, "admin"), cli_login(runner, "auditor")
    shown = runner.invoke(
        cli, ["retention", "show", "--as-of", "2025-01-01", "--json"], env=auditor
    )
    assert shown.exit_code == 0, shown.output
    preview = json.loads(shown.stdout)
    assert preview["sources"] == [
        {"source": "utility", "days": 3650, "cutoff": "2015-01-04", "records": 2, "held": 1}
    ]
    assert [p["person_id"] for p in preview["persons"]] == ["PA", "PB"]
    refused = runner.invoke(cli, ["retention", "apply", "--as-of", "2025-01-01", "--yes"],
                            env=auditor)  # fmt: skip
    assert refused.exit_code == 2 and "may not apply retention" in refused.output
    declined = runner.invoke(cli, ["retention", "apply", "--as-of", "2025-01-01"], env=admin,
                             input="n\n")  # fmt: skip
    assert declined.exit_code == 1 and "Nothing purged" in declined.output
    assert _record_count(workspace) == 6
    applied = runner.invoke(cli, ["retention", "apply", "--as-of", "2025-01-01"], env=admin,
                            input="y\n")  # fmt: skip
    assert applied.exit_code == 0, applied.output
    assert "2 records purged (utility 2), 1 held by disputes" in applied.output
    assert "2 persons flagged (1 removed), 2 open cases flagged" in applied.output
    assert _record_count(workspace) == 4
    again = runner.invoke(cli, ["retention", "apply", "--as-of", "2025-01-01"], env=admin)
    assert again.exit_code == 0 and "nothing to purge" in again.output
    flags = runner.invoke(cli, ["retention", "flags", "--person", "PB"], env=auditor)
    assert flags.exit_code == 0, flags.output
    assert "PB" in flags.output and "PA" not in flags.output and "1 flags" in flags.output


def test_the_command_line_refuses_a_bad_period_and_an_analyst(
    workspace: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyst = cli_login(runner, "analyst")
    refused = runner.invoke(cli, ["retention", "show"], env=analyst)
    assert refused.exit_code == 2 and "may not read retention" in refused.output
    auditor = cli_login(runner, "auditor")
    monkeypatch.setenv("CASELINE_RETENTION_DAYS", '{"utility": -5}')
    bad = runner.invoke(cli, ["retention", "show"], env=auditor)
    assert bad.exit_code != 0
    assert "retention_days[utility]: -5 is not a period" in str(bad.exception or bad.output)


# The API and the page


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    with database.transaction() as session:
        _build(session)
        for name, role in {"ada": Role.ADMIN, "aud": Role.AUDITOR, "ann": Role.ANALYST}.items():
            create_user(session, name, role, PASSWORD, actor=ADMIN)
    configured = load_settings(
        home=settings.home, database_url=settings.database_url, retention_days=PERIODS
    )
    with TestClient(create_app(configured, database)) as test_client:
        yield test_client


def _as(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_the_api_previews_applies_and_lists_flags(client: TestClient, database: Database) -> None:
    ada, aud, ann = (_as(client, name) for name in ("ada", "aud", "ann"))
    assert client.get("/api/retention", headers=ann).status_code == 403
    preview = client.get("/api/retention", params={"as_of": "2025-01-01"}, headers=aud)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert (body["records"], body["held"], body["link_decisions"]) == (2, 1, 1)
    assert [(p["person_id"], p["records_left"]) for p in body["persons"]] == [("PA", 2), ("PB", 0)]
    assert client.post("/api/retention/apply", json={"as_of": "2025-01-01"},
                       headers=aud).status_code == 403  # fmt: skip
    ahead = client.post("/api/retention/apply", json={"as_of": "2999-01-01"}, headers=ada)
    assert ahead.status_code == 422 and "after today" in ahead.json()["detail"]
    stale = client.post(
        "/api/retention/apply", json={"as_of": "2025-01-01", "expected_records": 3}, headers=ada
    )
    assert stale.status_code == 409 and _record_count(database) == 6
    applied = client.post(
        "/api/retention/apply", json={"as_of": "2025-01-01", "expected_records": 2}, headers=ada
    )
    assert applied.status_code == 200, applied.text
    run = applied.json()
    assert run["purged"]["records"] == 2 and run["persons_removed"] == 1
    assert _record_count(database) == 4
    flags = client.get("/api/retention/flags", params={"run": run["run_id"]}, headers=aud)
    assert flags.status_code == 200
    assert sorted((f["person_id"], f["records_lost"]) for f in flags.json()) == [
        ("PA", 1),
        ("PB", 1),
    ]
    with database.transaction() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("%retention%"))
        ).all()
    assert actions.count("apply_retention") == 1 and "preview_retention" in actions


def test_the_page_shows_the_preview_and_purges_for_an_admin(
    client: TestClient, database: Database
) -> None:
    web_sign_in(client, "aud", PASSWORD)
    auditor_page = client.get("/retention", params={"as_of": "2025-01-01"})
    assert auditor_page.status_code == 200
    assert (
        'data-source="utility"' in auditor_page.text and 'data-person-id="PB"' in auditor_page.text
    )
    assert "/retention/apply" not in auditor_page.text  # auditors read, never purge
    client.cookies.clear()
    web_sign_in(client, "ada", PASSWORD)
    page = client.get("/retention", params={"as_of": "2025-01-01"})
    assert page.status_code == 200 and "Purge 2 records" in page.text
    csrf_of(page.text)  # the page publishes the session's token like every other
    stale = client.post(
        "/retention/apply", data={"as_of": "2025-01-01", "expected_records": "5"},
        follow_redirects=False,
    )  # fmt: skip
    assert stale.status_code == 422 and "not the 5 expected" in stale.text
    done = client.post(
        "/retention/apply", data={"as_of": "2025-01-01", "expected_records": "2"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303 and "applied=" in done.headers["location"]
    shown = client.get(done.headers["location"])
    assert "applied; its flags are listed below" in shown.text
    assert "0 records past their period" in shown.text
    with database.transaction() as session:
        assert len(session.scalars(select(RetentionFlag)).all()) == 2
    client.headers.pop("Origin")
    forged = client.post(
        "/retention/apply", data={"as_of": "2025-01-01"}, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403
