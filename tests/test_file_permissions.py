"""Files the workspace writes (database, keys, session, models, exports) are readable by
their owner only, even when the process started with a permissive umask or the workspace
was made before."""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caseline.cli import app
from tests.cli_support import add_cli_users, cli_login
from tests.test_purposes_cli import add_supervisor, countersigned_export


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_workspace_is_its_owners_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, permissive_umask: None
) -> None:
    home = tmp_path / "workspace"
    old_model = home / "models" / "old-model.json"
    old_model.parent.mkdir(parents=True, mode=0o755)
    old_model.write_text("{}")
    old_model.chmod(0o644)
    monkeypatch.setenv("CASELINE_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CASELINE_TOKEN", raising=False)
    monkeypatch.delenv("CASELINE_AUDIT_KEY_FILE", raising=False)  # its own, beside the database
    runner = CliRunner()
    add_cli_users(runner)
    engineer = cli_login(runner, "engineer")
    out = tmp_path / "export.jsonl"
    countersigned_export(runner, engineer, add_supervisor(runner), out, "permissions test export")
    assert (
        runner.invoke(
            app, ["login", "admin", "--password-stdin"], input="a cli test password"
        ).exit_code
        == 0
    )

    private_files = [
        home / "caseline.db",
        home / "audit.key",
        home / "cli-session",
        old_model,
        out,
    ]
    private_files += [
        p
        for p in (home / "caseline.db-wal", home / "caseline.db-shm", home / "identifier.key")
        if p.exists()
    ]
    assert {str(p): _mode(p) for p in private_files} == {str(p): 0o600 for p in private_files}
    assert _mode(home) == 0o700 and _mode(home / "models") == 0o700


def test_an_older_world_readable_database_is_tightened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, permissive_umask: None
) -> None:
    home = tmp_path / "older"
    home.mkdir(mode=0o755)
    monkeypatch.setenv("CASELINE_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CASELINE_TOKEN", raising=False)
    runner = CliRunner()
    add_cli_users(runner)
    for path in home.glob("caseline.db*"):
        path.chmod(0o644)
    home.chmod(0o755)
    assert runner.invoke(app, ["users", "list"], env=cli_login(runner, "admin")).exit_code == 0
    assert _mode(home) == 0o700
    assert {p.name: _mode(p) for p in home.glob("caseline.db*")} == {
        p.name: 0o600 for p in home.glob("caseline.db*")
    }
