"""`caseline users` and `caseline login`: passwords never as arguments, admins manage users
(audited), disabling ends sessions, and the command line acts only as a signed-in user."""

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caseline.cli import app
from tests.cli_support import CLI_PASSWORD, add_cli_users, cli_login


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CASELINE_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CASELINE_TOKEN", raising=False)
    runner = CliRunner()
    add_cli_users(runner)
    return runner


def test_a_password_is_never_an_argument(runner: CliRunner) -> None:
    admin = cli_login(runner, "admin")
    given = runner.invoke(
        app, ["users", "add", "zed", "--role", "analyst", "--password", CLI_PASSWORD], env=admin
    )
    assert given.exit_code == 2 and "--password" in given.output
    weak = runner.invoke(
        app, ["users", "add", "zed", "--role", "analyst", "--password-stdin"],
        input="12345678", env=admin,
    )  # fmt: skip
    assert weak.exit_code == 2 and "at least 12" in weak.output
    same = runner.invoke(
        app, ["users", "add", "ENGINEER", "--role", "analyst", "--password-stdin"],
        input=CLI_PASSWORD, env=admin,
    )  # fmt: skip
    assert same.exit_code == 2 and "exists" in same.output


def test_login_keeps_the_session_for_its_owner_only_and_logout_ends_it(
    runner: CliRunner, tmp_path: Path
) -> None:
    signed = runner.invoke(app, ["login", "Admin", "--password-stdin"], input=CLI_PASSWORD)
    assert signed.exit_code == 0, signed.output
    saved = tmp_path / "cli-session"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    listed = runner.invoke(app, ["users", "list"])
    assert listed.exit_code == 0, listed.output
    rows = [line.split("\t") for line in listed.stdout.splitlines()[1:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("admin", "admin", "yes"), ("analyst", "analyst", "yes"),
        ("auditor", "auditor", "yes"), ("engineer", "data_engineer", "yes"),
    ]  # fmt: skip
    assert runner.invoke(app, ["logout"]).exit_code == 0
    assert not saved.exists()
    after = runner.invoke(app, ["users", "list"])
    assert after.exit_code == 2 and "caseline login" in after.output


def test_admins_disable_enable_reset_and_change_roles(runner: CliRunner) -> None:
    admin = cli_login(runner, "admin")
    analyst = cli_login(runner, "analyst")
    assert runner.invoke(app, ["users", "list"], env=analyst).exit_code == 2  # not an admin
    disabled = runner.invoke(app, ["users", "disable", "analyst"], env=admin)
    assert disabled.exit_code == 0 and "1 session(s) ended" in disabled.output
    assert runner.invoke(app, ["leads"], env=analyst).exit_code == 2
    refused = runner.invoke(app, ["login", "analyst", "--password-stdin"], input=CLI_PASSWORD)
    assert refused.exit_code == 2 and "unknown user or wrong password" in refused.output
    assert runner.invoke(app, ["users", "enable", "analyst"], env=admin).exit_code == 0
    reset = runner.invoke(
        app, ["users", "reset-password", "analyst", "--password-stdin"],
        input="a brand new passphrase", env=admin,
    )  # fmt: skip
    assert reset.exit_code == 0, reset.output
    cli_login(runner, "analyst", "a brand new passphrase")
    moved = runner.invoke(app, ["users", "set-role", "analyst", "--role", "supervisor"], env=admin)
    assert moved.exit_code == 0 and "supervisor" in moved.output
    last = runner.invoke(app, ["users", "disable", "admin"], env=admin)
    assert last.exit_code == 2 and "last enabled admin" in last.output
    trail = runner.invoke(app, ["audit", "verify"], env=cli_login(runner, "auditor"))
    assert trail.exit_code == 0, trail.output


def test_a_name_in_the_environment_is_not_an_identity(runner: CliRunner) -> None:
    as_named = runner.invoke(app, ["users", "list"], env={"CASELINE_USER": "admin"})
    assert as_named.exit_code == 2 and "caseline login" in as_named.output
    as_user = runner.invoke(app, ["users", "list"], env={"USER": "admin"})
    assert as_user.exit_code == 2
