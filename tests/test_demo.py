"""`caseline demo` on a small world, without serving: every part has something to show, the
long figures go to files, and what a new user needs is last on the screen."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caseline.cases import list_disputes, list_policy_versions
from caseline.cli import app
from caseline.cli.demo import DEMO_PASSWORD, DEMO_USERS
from caseline.config import load_settings
from caseline.db import Database
from caseline.oversight import Actor, Role, list_pending_purposes

pytestmark = pytest.mark.slow  # a world of its own, trained and resolved
runner = CliRunner()


def test_the_demo_fills_every_part_and_ends_with_the_sign_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASELINE_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CASELINE_TOKEN", raising=False)
    result = runner.invoke(app, ["demo", "--persons", "300", "--seed", "3", "--no-serve"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "sign in as one of these" in lines[-1]
    table = "\n".join(lines[-(len(DEMO_USERS) + 8) :])
    assert all(name in table for name in DEMO_USERS) and DEMO_PASSWORD in table
    assert not any(line.lstrip().startswith("{") for line in lines)  # JSON went to files
    reports = tmp_path / "reports"
    assert json.loads((reports / "persons-evaluation.json").read_text())["f1"] > 0
    assert "targets" in json.loads((reports / "address-evaluation.json").read_text())

    database = Database(load_settings().resolved_database_url)
    with database.transaction() as session:
        disputes = list_disputes(session, Actor("reviewer", Role.LEGAL))
        waiting = list_pending_purposes(session, actor=Actor("supervisor", Role.SUPERVISOR))
        versions = list_policy_versions(session, actor=Actor("auditor", Role.AUDITOR))
    database.dispose()
    assert {d.state.value for d in disputes} == {"filed", "under_review", "upheld", "rejected"}
    assert [p.requested_by for p in waiting] == ["analyst"]
    # The shipped policy, proposed by one person and published by another, orders the lists.
    assert [(v.version, v.proposed_by, v.published_by) for v in versions] == [
        (1, "supervisor", "admin")
    ]
    assert "priority policy v1 published" in result.output
