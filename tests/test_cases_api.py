"""Leads, cases and steps through the JSON API and the command line."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from caseline.cases import LeadRule, find_leads
from caseline.cli import app as cli
from caseline.config import Settings
from caseline.db import Database
from caseline.server import create_app
from tests.cli_support import cli_login
from tests.conftest import PASSWORD

AS_OF = "2026-01-01"


@pytest.fixture
def client(mutable_resolved: tuple[Settings, Database]) -> Iterator[TestClient]:
    settings, database = mutable_resolved
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def _as(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _step(
    client: TestClient, headers: dict[str, str], case: dict[str, object], action: str, **fields: str
) -> tuple[int, dict[str, object]]:
    response = client.post(
        f"/api/cases/{case['id']}/steps",
        params={"as_of": AS_OF},
        json={"action": action, "expected_version": case["version"], "fields": fields},
        headers=headers,
    )
    return response.status_code, response.json()


def test_a_lead_becomes_a_case_whose_steps_say_what_stops_them(client: TestClient) -> None:
    ann, sam = _as(client, "ann"), _as(client, "sam")
    leads = client.get("/api/leads", params={"as_of": AS_OF}, headers=ann)
    assert leads.status_code == 200 and leads.json()
    lead = next(x for x in leads.json() if x["rule"] == "removal_order_not_departed")
    opened = client.post(
        "/api/cases", params={"as_of": AS_OF}, json={"lead_id": lead["lead_id"]}, headers=ann
    )
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert case["state"] == "lead" and case["origin"]["rule"] == lead["rule"]
    again = client.post(
        "/api/cases", params={"as_of": AS_OF}, json={"lead_id": lead["lead_id"]}, headers=ann
    )
    assert again.status_code == 409 and again.json()["case_id"] == case["id"]

    for blank in ({}, {"reason": "   "}):
        code, refused = _step(client, ann, case, "begin_review", **blank)
        assert code == 422 and refused["where"] == "reason", refused
        assert "begin_review needs a reason of at least 5 characters" in str(refused["detail"])
    code, detail = _step(client, ann, case, "begin_review", reason="the order stands")
    assert code == 200 and detail["case"]["state"] == "identity_review"
    assert detail["case"]["version"] == 2  # the refusals changed nothing
    code, stale = _step(client, ann, case, "begin_review", reason="again")  # its version is gone
    assert code == 409 and stale["state"] == "identity_review" and stale["version"] == 2
    case = detail["case"]
    confirm = next(s for s in detail["next_steps"] if s["action"] == "confirm_identity")
    seen = next(g for g in confirm["guards"] if g["guard"] == "identity_seen")
    assert confirm["blocked"] and not seen["passed"] and seen["clears_by"]
    code, stopped = _step(client, ann, case, "confirm_identity", reason="records checked")
    assert code == 409 and any(g["guard"] == "identity_seen" for g in stopped["guards"])
    code, _ = _step(client, sam, case, "confirm_identity", reason="records checked")
    assert code == 403

    person = client.get(f"/api/cases/{case['id']}/person", params={"as_of": AS_OF}, headers=ann)
    assert person.status_code == 200 and person.json()["person_id"] == lead["person_id"]
    code, detail = _step(client, ann, case, "confirm_identity", reason="records checked")
    assert code == 200 and detail["case"]["state"] == "status_review"
    shown = client.get(f"/api/cases/{case['id']}", params={"as_of": AS_OF}, headers=sam).json()
    assert [(h["action"], h["from_state"], h["to_state"], h["actor"], h["reason"])
            for h in shown["history"]] == [
        ("begin_review", "lead", "identity_review", "ann", "the order stands"),
        ("confirm_identity", "identity_review", "status_review", "ann", "records checked"),
    ]  # fmt: skip
    assert {s["action"] for s in shown["next_steps"]} >= {"propose_action", "close"}


def test_a_case_on_another_person_for_a_lead_keeps_the_leads_records(
    client: TestClient,
) -> None:
    ann = _as(client, "ann")
    leads = client.get("/api/leads", params={"as_of": AS_OF}, headers=ann).json()
    lead, other = leads[0], next(x for x in leads[1:] if x["person_id"] != leads[0]["person_id"])
    body = {"lead_id": lead["lead_id"], "person_id": other["person_id"], "reason": "namesake"}
    opened = client.post("/api/cases", params={"as_of": AS_OF}, json=body, headers=ann)
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert case["person_id"] == other["person_id"]
    assert case["origin"]["rule"] == "analyst" and case["origin"]["lead_id"] == lead["lead_id"]
    assert case["origin"]["records"] == lead["records"]
    shown = client.get(f"/api/cases/{case['id']}", params={"as_of": AS_OF}, headers=ann).json()
    assert shown["case"]["origin"]["records"] == lead["records"]


def test_a_kept_dossier_checks_out_and_a_missing_one_is_404(
    client: TestClient, mutable_resolved: tuple[Settings, Database]
) -> None:
    _, database = mutable_resolved
    ann, lee = _as(client, "ann"), _as(client, "lee")
    with database.transaction() as session:
        lead = find_leads(session, dt.date(2026, 1, 1), rules=[LeadRule.STAY_ENDED_NO_EXIT])[0]
    case = client.post(
        "/api/cases", params={"as_of": AS_OF}, json={"lead_id": lead.lead_id}, headers=ann
    ).json()
    code, detail = _step(client, lee, case, "terminate", reason="the entry record is a duplicate")
    assert code == 200 and detail["case"]["state"] == "terminated"
    step = detail["history"][-1]
    assert step["dossier_sha256"]
    checked = client.get(f"/api/cases/{case['id']}/dossiers/{step['id']}", headers=ann)
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert (
        body["intact"] and not body["person_changed"] and body["sha256"] == step["dossier_sha256"]
    )
    assert body["dossier"]["case"]["step"] == "terminate"
    assert client.get(f"/api/cases/{case['id']}/dossiers/999999", headers=ann).status_code == 404
    auditor = _as(client, "aud")
    assert client.get("/api/leads", headers=auditor).status_code == 403
    assert client.get(f"/api/cases/{case['id']}", headers=auditor).status_code == 403


def test_the_command_line_lists_leads_opens_shows_and_steps_a_case(
    mutable_resolved: tuple[Settings, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = mutable_resolved
    monkeypatch.setenv("CASELINE_HOME", str(settings.home))
    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url)
    runner = CliRunner()
    monkeypatch.setenv("CASELINE_TOKEN", cli_login(runner, "ann", PASSWORD)["CASELINE_TOKEN"])
    listed = runner.invoke(cli, ["leads", "--as-of", AS_OF, "--rule", "stay_ended_no_exit"])
    assert listed.exit_code == 0, listed.output
    lead_id = next(w for w in listed.output.split() if w.startswith("stay_ended_no_exit:"))
    opened = runner.invoke(cli, ["cases", "open", "--lead", lead_id, "--as-of", AS_OF])
    assert opened.exit_code == 0, opened.output
    case_id = opened.output.split()[2]
    shown = runner.invoke(cli, ["cases", "show", case_id, "--as-of", AS_OF])
    assert shown.exit_code == 0 and "begin_review" in shown.output and "version 1" in shown.output
    listed = runner.invoke(cli, ["cases", "list", "--state", "lead"])
    assert listed.exit_code == 0 and case_id in listed.output
    step = ["cases", "step", case_id, "begin_review", "--version", "1", "--as-of", AS_OF]
    for blank in ([], ["--reason", "  "]):
        refused = runner.invoke(cli, [*step, *blank])
        assert refused.exit_code == 2, refused.output
        assert "reason: begin_review needs a reason of at least 5" in " ".join(
            refused.output.split()
        )
    taken = runner.invoke(cli, [*step, "--reason", "overstayed"])
    assert taken.exit_code == 0, taken.output
    assert "is now identity_review at version 2" in taken.output
    stale = runner.invoke(cli, [*step, "--reason", "overstayed"])
    assert stale.exit_code == 2 and "now identity_review at version 2" in stale.output
    shown = runner.invoke(cli, ["cases", "show", case_id, "--as-of", AS_OF])
    assert shown.exit_code == 0 and "overstayed" in shown.output
    refused = runner.invoke(cli, ["leads"], env=cli_login(runner, "aud", PASSWORD))
    assert refused.exit_code == 2 and "may not list leads" in refused.output


def test_the_lifecycle_printed_is_the_one_in_the_docs() -> None:
    printed = CliRunner().invoke(cli, ["cases", "lifecycle"])
    docs = (Path(__file__).resolve().parents[1] / "docs" / "cases.md").read_text()
    assert printed.exit_code == 0 and printed.output in docs
