"""`caseline tokens`: admins make (printed once), list and revoke API tokens; a script's
CASELINE_TOKEN acts as the token's service identity with at most its role."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from caseline.cli import app
from tests.cli_support import add_cli_users, cli_login


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CASELINE_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CASELINE_TOKEN", raising=False)
    runner = CliRunner()
    add_cli_users(runner)
    return runner


def test_admins_make_list_and_revoke_tokens_that_scripts_act_with(runner: CliRunner) -> None:
    admin = cli_login(runner, "admin")
    made = runner.invoke(
        app, ["tokens", "create", "--name", "verifier", "--role", "auditor", "--days", "30"],
        env=admin,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("clt_") and "shown only now" in made.stderr
    script = {"CASELINE_TOKEN": token}
    verified = runner.invoke(app, ["audit", "verify"], env=script)
    assert verified.exit_code == 0, verified.output
    refused = runner.invoke(app, ["users", "list"], env=script)
    assert refused.exit_code == 2 and "auditor" in refused.output
    analyst = cli_login(runner, "analyst")
    assert runner.invoke(app, ["tokens", "list"], env=analyst).exit_code == 2
    listed = runner.invoke(app, ["tokens", "list"], env=admin)
    assert listed.exit_code == 0, listed.output
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert rows[0][:4] == ["name", "role", "state", "created_by"]
    assert rows[1][:4] == ["verifier", "auditor", "active", "admin"] and rows[1][5] != "-"
    assert token not in listed.stdout
    assert runner.invoke(app, ["tokens", "revoke", "verifier"], env=admin).exit_code == 0
    after = runner.invoke(app, ["audit", "verify"], env=script)
    assert after.exit_code == 2 and "revoked" in after.output


def test_no_token_for_admins_and_no_token_makes_tokens(runner: CliRunner) -> None:
    admin = cli_login(runner, "admin")
    root = runner.invoke(app, ["tokens", "create", "--name", "root", "--role", "admin"], env=admin)
    assert root.exit_code == 2 and "admin role" in root.output
    made = runner.invoke(
        app, ["tokens", "create", "--name", "loader", "--role", "data_engineer"], env=admin
    )
    assert made.exit_code == 0, made.output
    script = {"CASELINE_TOKEN": made.stdout.strip()}
    again = runner.invoke(
        app, ["tokens", "create", "--name", "other", "--role", "analyst"], env=script
    )
    assert again.exit_code == 2 and "may not manage users" in again.output
