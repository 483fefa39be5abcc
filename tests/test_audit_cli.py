"""`caseline audit checkpoint` and `caseline audit verify` on a workspace of their own."""

from __future__ import annotations

import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caseline.cli import app
from tests.cli_support import add_cli_users, cli_login

runner = CliRunner()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SQLite workspace with its users (adding them records the first events)."""
    monkeypatch.setenv("CASELINE_HOME", str(tmp_path))
    monkeypatch.setenv("CASELINE_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CASELINE_TOKEN", raising=False)
    monkeypatch.delenv("CASELINE_AUDIT_CHECKPOINT_FILE", raising=False)
    add_cli_users(runner)
    return tmp_path


def _as(name: str) -> dict[str, str]:
    return cli_login(runner, name)


def _delete_newest(workspace: Path, count: int) -> None:
    """What someone with the database file does: drop the trigger, delete the tail."""
    with closing(sqlite3.connect(workspace / "caseline.db")) as db:
        db.execute("DROP TRIGGER audit_events_no_delete")
        db.execute(
            "DELETE FROM audit_events WHERE seq > (SELECT MAX(seq) FROM audit_events) - ?",
            (count,),
        )
        db.commit()


def test_a_checkpoint_is_a_signed_line_kept_outside_the_database(workspace: Path) -> None:
    taken = runner.invoke(app, ["audit", "checkpoint"], env=_as("auditor"))
    assert taken.exit_code == 0, taken.output
    line = taken.stdout.strip()
    assert line.startswith("caseline-audit-checkpoint v1 seq=") and " sig=" in line
    kept = workspace / "audit-checkpoints.txt"
    assert kept.read_text().splitlines() == [line]
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    verified = runner.invoke(app, ["audit", "verify"], env=_as("auditor"))
    assert verified.exit_code == 0, verified.output
    assert "intact" in verified.output and "1 checkpoints" in verified.output


def test_verify_finds_the_newest_events_deleted(workspace: Path) -> None:
    auditor = _as("auditor")  # signing in appends an event: before the cut
    assert runner.invoke(app, ["audit", "checkpoint"], env=_as("admin")).exit_code == 0
    _delete_newest(workspace, 1)
    verified = runner.invoke(app, ["audit", "verify"], env=auditor)
    assert verified.exit_code == 1
    assert "audit chain broken" in verified.output and "cut or renumbered" in verified.output


def test_a_checkpoint_shipped_elsewhere_is_checked_when_named(
    workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shipped = tmp_path_factory.mktemp("elsewhere") / "checkpoints"
    auditor = _as("auditor")
    taken = runner.invoke(app, ["audit", "checkpoint", "--out", str(shipped)], env=auditor)
    assert taken.exit_code == 0, taken.output
    assert not (workspace / "audit-checkpoints.txt").exists()
    printed_only = runner.invoke(app, ["audit", "checkpoint", "--out", "-"], env=auditor)
    assert printed_only.exit_code == 0 and not (workspace / "-").exists()
    unchecked = runner.invoke(app, ["audit", "verify"], env=auditor)
    assert unchecked.exit_code == 0 and "no checkpoint" in unchecked.output
    _delete_newest(workspace, 3)
    # Without the shipped file only the chain is checked, and what is left is a whole chain.
    assert runner.invoke(app, ["audit", "verify"], env=auditor).exit_code == 0
    checked = runner.invoke(app, ["audit", "verify", "--checkpoint", str(shipped)], env=auditor)
    assert checked.exit_code == 1 and "cut or renumbered" in checked.output


def test_a_forged_checkpoint_line_is_refused(workspace: Path) -> None:
    taken = runner.invoke(app, ["audit", "checkpoint"], env=_as("auditor"))
    line = taken.stdout.strip()
    forged = workspace / "forged.txt"
    forged.write_text(line.replace(" events=", " events=9") + "\n")
    checked = runner.invoke(
        app, ["audit", "verify", "--checkpoint", str(forged)], env=_as("auditor")
    )
    assert checked.exit_code == 1 and "not signed with this trail's key" in checked.output
    garbage = workspace / "garbage.txt"
    garbage.write_text("seq=1 head=abc\n")
    refused = runner.invoke(
        app, ["audit", "verify", "--checkpoint", str(garbage)], env=_as("auditor")
    )
    assert refused.exit_code == 2 and "garbage.txt:1" in refused.output
    missing = runner.invoke(
        app, ["audit", "verify", "--checkpoint", str(workspace / "none")], env=_as("auditor")
    )
    assert missing.exit_code == 2 and "no such checkpoint file" in missing.output


def test_only_a_role_that_verifies_the_trail_takes_a_checkpoint(workspace: Path) -> None:
    refused = runner.invoke(app, ["audit", "checkpoint"], env=_as("analyst"))
    assert refused.exit_code == 2 and "may not verify audit" in refused.output
    assert not (workspace / "audit-checkpoints.txt").exists()
