"""`caseline purposes` and `caseline export`: a bulk export waits for a supervisor's
countersignature of its purpose and scope; supervisors list, countersign and decline."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from caseline.cli import app
from tests.cli_support import CLI_PASSWORD, add_cli_users, cli_login


def add_supervisor(runner: CliRunner, name: str = "boss") -> dict[str, str]:
    """A supervisor, added by the workspace's admin; the environment they act in."""
    added = runner.invoke(
        app, ["users", "add", name, "--role", "supervisor", "--password-stdin"],
        input=CLI_PASSWORD, env=cli_login(runner, "admin"),
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    return cli_login(runner, name)


def countersigned_export(
    runner: CliRunner, engineer: dict[str, str], supervisor: dict[str, str], out: Path, purpose: str
) -> None:
    """Export as the engineer once the supervisor countersigned the purpose."""
    first = runner.invoke(app, ["export", "--out", str(out), "--purpose", purpose], env=engineer)
    assert first.exit_code == 2 and "countersignature" in first.output, first.output
    pending = runner.invoke(app, ["purposes", "pending"], env=supervisor)
    assert pending.exit_code == 0, pending.output
    rows = [line.split("\t") for line in pending.stdout.splitlines()[1:]]
    (request,) = [r for r in rows if r[5] == purpose]
    assert request[1:4] == ["engineer", "data_engineer", "export:ftm"]
    signed = runner.invoke(app, ["purposes", "countersign", request[0]], env=supervisor)
    assert signed.exit_code == 0, signed.output
    done = runner.invoke(app, ["export", "--out", str(out), "--purpose", purpose], env=engineer)
    assert done.exit_code == 0, done.output


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CASELINE_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CASELINE_TOKEN", raising=False)
    runner = CliRunner()
    add_cli_users(runner)
    return runner


def test_an_export_waits_for_a_supervisors_countersignature(
    runner: CliRunner, tmp_path: Path
) -> None:
    engineer, boss = cli_login(runner, "engineer"), add_supervisor(runner)
    out = tmp_path / "persons.jsonl"
    junk = runner.invoke(app, ["export", "--out", str(out), "--purpose", "....."], env=engineer)
    assert junk.exit_code == 2 and "purpose" in junk.output and not out.exists()
    assert runner.invoke(app, ["purposes", "pending"], env=engineer).exit_code == 2
    countersigned_export(runner, engineer, boss, out, "load into the case tool for review")
    assert out.exists()


def test_a_supervisor_declines_with_a_reason(runner: CliRunner, tmp_path: Path) -> None:
    engineer, boss = cli_login(runner, "engineer"), add_supervisor(runner)
    out = tmp_path / "persons.jsonl"
    purpose = "copy everything to a laptop for later"
    runner.invoke(app, ["export", "--out", str(out), "--purpose", purpose], env=engineer)
    request_id = runner.invoke(app, ["purposes", "pending"], env=boss).stdout.splitlines()[1][0]
    declined = runner.invoke(
        app, ["purposes", "decline", request_id, "--reason", "no scope for a laptop"], env=boss
    )
    assert declined.exit_code == 0, declined.output
    again = runner.invoke(app, ["export", "--out", str(out), "--purpose", purpose], env=engineer)
    assert again.exit_code == 2 and not out.exists()
    twice = runner.invoke(app, ["purposes", "countersign", request_id], env=boss)
    assert twice.exit_code == 2 and "declined" in twice.output
