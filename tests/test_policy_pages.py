"""The priority policy through the API, the web pages and the command line: readable by
auditors, proposed and published two-person, exported as a public report, and each lead and
case saying why it ranks where it does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from caseline.cases import Thresholds, simulate_under_policy
from caseline.cli import app as cli
from caseline.config import Settings
from caseline.db import Database
from caseline.oversight import Actor, Role, create_user
from caseline.server import create_app
from caseline.synth import WorldSummary
from tests.case_pages import lead_case
from tests.cli_support import cli_login
from tests.conftest import PASSWORD
from tests.test_policy import ALIAS_RULE, AS_OF, policy_text, rule
from tests.web_support import web_sign_in

OVERSTAYS_FIRST = policy_text(
    rule("stay_ended", "{overstay_days: {at_least: 1}}", weight=90),
    rule("order", "{final_order: true}", weight=5),
)


def _token(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _second_supervisor(database: Database) -> None:
    with database.transaction() as session:
        create_user(session, "sue", Role.SUPERVISOR, PASSWORD, actor=Actor("root", Role.ADMIN))


def test_the_api_proposes_publishes_and_shows_why_each_lead_ranks_where_it_does(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    _second_supervisor(database)
    with TestClient(create_app(settings, database)) as client:
        ann, sam, sue, aud = (_token(client, u) for u in ("ann", "sam", "sue", "aud"))
        shown = client.get("/api/policy", params={"as_of": str(AS_OF)}, headers=aud)
        assert shown.status_code == 200 and shown.json()["version"] is None
        assert shown.json()["policy"]["rules"][0]["legal_basis"]
        body = {"text": OVERSTAYS_FIRST}
        params = {"as_of": str(AS_OF)}
        assert client.post("/api/policy/versions", json=body, headers=ann).status_code == 403
        bad = client.post("/api/policy/versions", json={"text": policy_text(
            rule("x", "{nationality: true}"))}, headers=sam)  # fmt: skip
        assert bad.status_code == 422 and "rule x: when.nationality" in bad.text
        proposed = client.post("/api/policy/versions", json=body, params=params, headers=sam)
        assert proposed.status_code == 201, proposed.text
        version = proposed.json()["version"]
        assert proposed.json()["impact"]["persons"] > 0
        publish = f"/api/policy/versions/{version}/publish"
        assert client.post(publish, headers=sam).status_code == 403  # the proposer
        assert client.post(publish, headers=sue).status_code == 200
        assert client.post(publish, headers=sue).status_code == 409
        leads = client.get("/api/leads", params=params, headers=ann).json()
        first = leads[0]["priority"]
        assert first["version"] == version and first["rank"] == 1
        assert first["explanation"].startswith(f"ranked by policy v{version}: stay_ended (+90)")
        assert client.get(f"/api/policy/versions/{version}", headers=aud).json()["state"] == (
            "published"
        )
        cases = client.get("/api/cases", params=params, headers=ann)
        assert cases.status_code == 200


def test_the_pages_show_the_policy_its_versions_and_why_each_case_ranks(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    case_id = lead_case(database)
    with TestClient(create_app(settings, database)) as client:
        auditor = web_sign_in(client, "aud", PASSWORD)
        page = auditor.get("/policy", params={"as_of": str(AS_OF)})
        assert page.status_code == 200
        assert "8 U.S.C. § 1231(a)(1)(A)" in page.text and "no version published yet" in page.text
        exported = auditor.get("/policy/report.json", params={"as_of": str(AS_OF)})
        assert (
            exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
        )
        report = json.loads(exported.text)
        assert report["in_force"]["version"] is None and report["in_force"]["policy"]["rules"]
        html = auditor.get("/policy/report.html")
        assert html.status_code == 200 and "public report" in html.text
        assert 'href="/leads"' not in html.text  # a page to take away: no links back
        assert auditor.get("/leads").status_code == 403
    with TestClient(create_app(settings, database)) as client:
        analyst = web_sign_in(client, "ann", PASSWORD)
        leads = analyst.get("/leads", params={"as_of": str(AS_OF)})
        assert "ranked by policy default-2026: final_order (+40)" in leads.text
        board = analyst.get("/cases", params={"as_of": str(AS_OF)})
        assert 'class="priority meta">ranked by policy default-2026' in board.text
        case = analyst.get(f"/cases/{case_id}", params={"as_of": str(AS_OF)})
        # a stay that ended with no exit: the policy's stay_ended rule, now and when opened
        assert 'id="case-priority">ranked by policy default-2026: stay_ended (+10)' in case.text
        assert 'id="case-opened-priority">ranked by policy default-2026: stay_ended' in case.text


def test_the_command_line_measures_refuses_a_proxy_and_publishes_two_person(
    mutable_resolved: tuple[Settings, Database],
    small_world: WorldSummary,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    settings, database = mutable_resolved
    _second_supervisor(database)
    monkeypatch.setenv("CASELINE_HOME", str(settings.home))
    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url)
    runner = CliRunner()
    sam, sue = cli_login(runner, "sam", PASSWORD), cli_login(runner, "sue", PASSWORD)
    world = small_world
    truth = ["--truth-records", str(world.truth_file),
             "--truth-persons", str(world.file("persons")), "--as-of", str(AS_OF)]  # fmt: skip
    proxy = tmp_path / "proxy.yaml"
    proxy.write_text(policy_text(ALIAS_RULE))
    plot = tmp_path / "impact.png"
    measured = runner.invoke(cli, ["policy", "impact", str(proxy), *truth, "--plot", str(plot)],
                             env=sam)  # fmt: skip
    assert measured.exit_code == 1, measured.output
    figures = json.loads(measured.output.strip().splitlines()[-1])
    assert {f["rule"] for f in figures["findings"] if not f["justified"]} == {"alias_use"}
    assert plot.stat().st_size > 10_000
    refused = runner.invoke(cli, ["policy", "propose", str(proxy), *truth], env=sam)
    assert refused.exit_code != 0 and "rule alias_use: naming_group" in refused.output
    good = tmp_path / "good.yaml"
    good.write_text(OVERSTAYS_FIRST)
    proposed = runner.invoke(cli, ["policy", "propose", str(good), *truth], env=sam)
    assert proposed.exit_code == 0, proposed.output
    version = json.loads(proposed.output.strip().splitlines()[-1])["version"]
    own = runner.invoke(cli, ["policy", "publish", str(version)], env=sam)
    assert own.exit_code != 0 and "your own proposal" in own.output
    published = runner.invoke(cli, ["policy", "publish", str(version)], env=sue)
    assert published.exit_code == 0, published.output
    leads = runner.invoke(cli, ["leads", "--as-of", str(AS_OF), "--limit", "3"], env=sam)
    assert leads.exit_code == 0, leads.output
    assert f"v{version}:" in leads.output and "(+90)" in leads.output  # wrapped in its cell
    shown = runner.invoke(cli, ["policy", "show", "--as-of", str(AS_OF), "--json"], env=sue)
    assert shown.exit_code == 0 and json.loads(shown.output)["shown"].endswith("(test-policy)")


def test_simulate_under_a_policy_reports_each_groups_shares(
    resolved: tuple[Settings, Database],
    small_world: WorldSummary,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings, _ = resolved
    monkeypatch.setenv("CASELINE_HOME", str(settings.home))
    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url)
    runner = CliRunner()
    sam = cli_login(runner, "sam", PASSWORD)
    args = ["simulate", "--truth-records", str(small_world.truth_file),
            "--truth-persons", str(small_world.file("persons")), "--as-of", str(AS_OF),
            "--policy", "in-force", "--capacity", "5"]  # fmt: skip
    refused = runner.invoke(cli, args, env=sam)  # a data engineer's measurement, as simulate is
    assert refused.exit_code == 2 and "may not evaluate accuracy" in refused.output
    _, database = resolved
    with database.transaction() as session:
        result = simulate_under_policy(
            session, truth_records=small_world.truth_file,
            truth_persons=small_world.file("persons"), as_of=AS_OF,
            thresholds=Thresholds.of(settings), actor=Actor("eng", Role.DATA_ENGINEER),
            capacity=5,
        )  # fmt: skip
        session.rollback()  # the simulation's audit event: the shared world stays as built
    assert result.version is None and len(result.simulation.worked) <= 5
    assert result.totals["population"] == 300 and result.totals["worked"] <= 5
    assert result.totals["leads"] >= result.totals["worked"] >= result.totals["actioned"]
    for name in ("population", "leads", "actioned"):
        shares = [g.shares[name] for g in result.groups]
        assert sum(shares) == pytest.approx(1.0) if result.totals[name] else sum(shares) == 0
    anglo = next(g for g in result.groups if g.group == "anglo")
    assert anglo.counts["population"] > 0
    assert json.loads(json.dumps(result.as_dict()))["by_group"]["anglo"]["population"]["persons"]
