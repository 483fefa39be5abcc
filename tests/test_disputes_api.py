"""Disputes through the JSON API and the command line, as signed-in users."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from caseline.cli import app as cli
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import PersonRecord
from caseline.oversight import Role, create_user
from caseline.server import create_app
from tests.cli_support import cli_login
from tests.conftest import ADMIN, PASSWORD


@pytest.fixture
def world(mutable_resolved: tuple[Settings, Database]) -> tuple[Settings, Database]:
    """The resolved world with a second legal reviewer, ``liz``."""
    _, database = mutable_resolved
    with database.transaction() as session:
        create_user(session, "liz", Role.LEGAL, PASSWORD, actor=ADMIN)
    return mutable_resolved


@pytest.fixture
def client(world: tuple[Settings, Database]) -> Iterator[TestClient]:
    with TestClient(create_app(*world)) as test_client:
        yield test_client


def _as(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _a_record(database: Database) -> tuple[str, str]:
    with database.transaction() as session:
        row = session.execute(
            select(PersonRecord.person_id, PersonRecord.record_id).order_by(PersonRecord.record_id)
        ).first()
    assert row is not None
    return row[0], row[1]


def test_a_dispute_goes_from_filed_to_upheld_through_the_api(
    client: TestClient, world: tuple[Settings, Database]
) -> None:
    person_id, record_id = _a_record(world[1])
    lee, liz, ann, sam = (_as(client, name) for name in ("lee", "liz", "ann", "sam"))
    body = {
        "person_id": person_id,
        "record_id": record_id,
        "kind": "value",
        "field": "family_name",
        "value": "garcia lopez",
        "grounds": "the second family name was left out",
    }
    assert client.post("/api/disputes", json=body, headers=ann).status_code == 403
    assert client.post("/api/disputes", json={**body, "kind": "x"}, headers=lee).status_code == 422
    filed = client.post("/api/disputes", json=body, headers=lee)
    assert filed.status_code == 201, filed.text
    dispute = filed.json()
    assert dispute["state"] == "filed" and dispute["claimed_value"] == "GARCIA LOPEZ"
    url = f"/api/disputes/{dispute['id']}"
    assert client.post(f"{url}/review", headers=lee).status_code == 403  # their own
    assert client.post(f"{url}/review", headers=sam).status_code == 403  # not legal
    assert client.post(f"{url}/decision", json={"uphold": True, "reason": "the record is wrong"},
                       headers=liz).status_code == 409  # fmt: skip
    assert client.post(f"{url}/review", headers=liz).json()["state"] == "under_review"
    decided = client.post(
        f"{url}/decision", json={"uphold": True, "reason": "the passport shows both"}, headers=liz
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["effect"]["now"] == "GARCIA LOPEZ"
    listed = client.get("/api/disputes", params={"state": "upheld"}, headers=sam)
    assert [d["id"] for d in listed.json()] == [dispute["id"]]
    assert client.get(url, headers=ann).status_code == 403
    assert client.get("/api/disputes/999", headers=lee).status_code == 404


def test_the_command_line_files_reviews_and_decides_as_the_signed_in_user(
    world: tuple[Settings, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, database = world
    monkeypatch.setenv("CASELINE_HOME", str(settings.home))
    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url)
    runner = CliRunner()
    lee, liz = cli_login(runner, "lee", PASSWORD), cli_login(runner, "liz", PASSWORD)
    ann = cli_login(runner, "ann", PASSWORD)
    person_id, record_id = _a_record(database)
    args = ["disputes", "file", person_id, record_id, "--kind", "not_me",
            "--grounds", "another person of the same name"]  # fmt: skip
    refused = runner.invoke(cli, args, env=ann)
    assert refused.exit_code != 0 and "may not file disputes" in refused.output
    filed = runner.invoke(cli, args, env=lee)
    assert filed.exit_code == 0, filed.output
    assert "dispute 1: filed" in filed.output
    own = runner.invoke(cli, ["disputes", "review", "1"], env=lee)
    assert own.exit_code != 0 and "another must review" in own.output
    assert runner.invoke(cli, ["disputes", "review", "1"], env=liz).exit_code == 0
    decided = runner.invoke(
        cli, ["disputes", "decide", "1", "--reject", "--reason", "the records agree on the id"],
        env=liz,
    )  # fmt: skip
    assert decided.exit_code == 0, decided.output
    assert "dispute 1: rejected" in decided.output
    listed = runner.invoke(cli, ["disputes", "list", "--state", "rejected"], env=lee)
    assert listed.exit_code == 0 and "1 disputes" in listed.output
    shown = runner.invoke(cli, ["disputes", "show", "1"], env=lee)
    assert "reviewer: liz" in shown.output and "the records agree on the id" in shown.output
