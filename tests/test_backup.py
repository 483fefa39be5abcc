"""`caseline backup` and `caseline restore` round-trip a workspace on SQLite and PostgreSQL:
every table as it was, the models and identifier key back, the audit chain intact."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from typer.testing import CliRunner

from caseline.cli import app
from caseline.config import Settings
from caseline.db import Database
from caseline.db.migrate import alembic_config
from caseline.db.models import AuditEvent, Base
from caseline.ingest import ingest_file
from caseline.oversight import Role, create_user
from caseline.oversight.audit import AuditEntry, record_event
from caseline.synth import WorldSummary
from tests.cli_support import cli_login
from tests.conftest import ADMIN, OPERATOR, PASSWORD

runner = CliRunner()


@dataclass
class Workspace:
    settings: Settings
    database: Database
    admin: dict[str, str]
    auditor: dict[str, str]
    archive: Path

    def run(self, args: list[str], env: dict[str, str]) -> tuple[int, str]:
        result = runner.invoke(app, args, env=env)
        return result.exit_code, " ".join(result.output.split())

    def counts(self) -> dict[str, int]:
        self.database.dispose()  # a restore replaced what pooled connections had open
        with self.database.engine.connect() as connection:
            return {
                table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in Base.metadata.sorted_tables
            }

    def newest_event(self) -> AuditEvent:
        self.database.dispose()
        with self.database.transaction() as session:
            return session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()


@pytest.fixture
def workspace(
    mutable_resolved: tuple[Settings, Database], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Workspace:
    """The resolved world's copy with an admin, as the command line sees it."""
    settings, database = mutable_resolved
    with database.transaction() as session:
        create_user(session, "adm", Role.ADMIN, PASSWORD, actor=ADMIN)
    monkeypatch.setenv("CASELINE_HOME", str(settings.home))
    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("CASELINE_AUDIT_CHECKPOINT_FILE", str(tmp_path / "checkpoints.txt"))
    monkeypatch.delenv("CASELINE_TOKEN", raising=False)
    admin, auditor = cli_login(runner, "adm", PASSWORD), cli_login(runner, "aud", PASSWORD)
    return Workspace(settings, database, admin, auditor, tmp_path / "backup.tar.gz")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def _rewritten(archive: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    """A copy of the archive with its members changed by ``change`` (the manifest first)."""
    members = _members(archive)
    change(members)
    out = archive.with_name("changed.tar.gz")
    with tarfile.open(out, mode="w:gz") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return out


def _database_member(members: dict[str, bytes]) -> str:
    return next(name for name in members if name.startswith("database/"))


def _with_manifest_fixed(members: dict[str, bytes], name: str) -> None:
    """Make the manifest agree with a changed member, as a forger or a bad disk could not,
    but as a dump broken before it was hashed would."""
    manifest = json.loads(members["manifest.json"])
    for member in manifest["members"]:
        if member["name"] == name:
            member["size"] = len(members[name])
            member["sha256"] = hashlib.sha256(members[name]).hexdigest()
    members["manifest.json"] = json.dumps(manifest).encode()


def _change_the_workspace(ws: Workspace, world: WorldSummary, tmp_path: Path) -> None:
    source, path = next(iter(world.source_files.items()))
    part = tmp_path / f"part{path.suffix}"
    part.write_text("\n".join(path.read_text(encoding="utf-8").splitlines()[:4]) + "\n")
    with ws.database.transaction() as session:
        ingest_file(
            session, part, source, identifier_key=ws.settings.identifier_key, actor=OPERATOR
        )
    added = runner.invoke(app, ["users", "add", "newcomer", "--role", "analyst",
                                "--password-stdin"], input=PASSWORD, env=ws.admin)  # fmt: skip
    assert added.exit_code == 0, added.output
    with ws.database.transaction() as session:
        for n in range(3):
            record_event(session, AuditEntry("ann", "analyst", "read_person", "person", f"P{n}",
                                             "case:1", "1", {"n": n}))  # fmt: skip
    with ws.database.engine.begin() as connection:  # as a newer migration would add one
        connection.execute(text("CREATE TABLE leftover (id INTEGER PRIMARY KEY)"))
    (ws.settings.home / "identifier.key").write_bytes(b"another key, not the backed-up one.")
    for model in _files(ws.settings.models_dir):
        (ws.settings.models_dir / model).unlink()
    (ws.settings.models_dir / "newer-model.json").write_text("{}")


def test_a_backup_restores_every_table_the_models_and_the_key_with_the_chain_intact(
    workspace: Workspace, small_world: WorldSummary, tmp_path: Path
) -> None:
    ws = workspace
    key = (ws.settings.home / "identifier.key").read_bytes()
    models = _files(ws.settings.models_dir)
    assert models, "the resolved world has a trained model"
    code, output = ws.run(["backup", str(ws.archive)], ws.admin)
    assert code == 0, output
    assert "bytes" in output and "database/" in output and "workspace/identifier.key" in output
    assert stat.S_IMODE(ws.archive.stat().st_mode) == 0o600
    sha256 = hashlib.sha256(ws.archive.read_bytes()).hexdigest()
    assert sha256 in output
    assert not list(tmp_path.glob(".*partial")) and not list(ws.settings.home.glob(".backup-*"))
    at_backup = ws.counts()
    backed_up = ws.newest_event()
    manifest = json.loads(_members(ws.archive)["manifest.json"])
    assert backed_up.action == "back_up_workspace" and backed_up.actor == "adm"
    assert backed_up.object_id == sha256
    assert backed_up.details["head_seq"] == manifest["head_seq"] == backed_up.seq - 1
    assert manifest["dialect"] == ws.database.dialect and manifest["taken_by"] == "adm"
    assert "audit.key" not in " ".join(m["name"] for m in manifest["members"])

    _change_the_workspace(ws, small_world, tmp_path)
    changed = ws.counts()
    assert changed["users"] == at_backup["users"] + 1
    assert changed["ingest_runs"] == at_backup["ingest_runs"] + 1

    ws.database.dispose()
    code, output = ws.run(["restore", str(ws.archive), "--yes"], ws.admin)
    assert code == 0, output
    assert "audit chain intact" in output
    restored = ws.counts()
    assert "leftover" not in inspect(ws.database.engine).get_table_names()
    # The archive holds the trail up to the event before its own backup event; the restore
    # appends one: as many audit events as just after the backup.
    assert restored == at_backup
    event = ws.newest_event()
    assert event.action == "restore_workspace" and event.actor == "adm"
    assert event.object_id == sha256 and event.details["head_seq"] == manifest["head_seq"]
    assert event.seq == manifest["head_seq"] + 1
    assert (ws.settings.home / "identifier.key").read_bytes() == key
    assert _files(ws.settings.models_dir) == models
    code, output = ws.run(["audit", "verify"], ws.auditor)
    assert code == 0 and "audit chain intact" in output, output


def test_a_checkpoint_taken_after_the_backup_shows_the_rollback(workspace: Workspace) -> None:
    ws = workspace
    assert ws.run(["backup", str(ws.archive)], ws.admin)[0] == 0
    code, output = ws.run(["audit", "checkpoint"], ws.auditor)
    assert code == 0, output
    checkpointed = ws.newest_event().seq
    ws.database.dispose()
    code, output = ws.run(["restore", str(ws.archive), "--yes"], ws.admin)
    assert code == 0 and "audit chain intact" in output, output
    code, output = ws.run(["audit", "verify"], ws.auditor)
    assert code == 1 and f"broken at event {checkpointed}" in output, output


@pytest.mark.parametrize("resolved", ["postgresql"], indirect=True)  # SQLite copies itself
def test_without_pg_dump_the_backup_says_what_to_install(
    workspace: Workspace, tmp_path: Path
) -> None:
    ws = workspace
    code, output = ws.run(["backup", str(ws.archive)], {**ws.admin, "PATH": str(tmp_path)})
    assert code == 2 and "pg_dump is not installed" in output, output
    assert "postgresql-client" in output and not ws.archive.exists()


def test_a_changed_byte_is_refused_naming_the_member_and_nothing_changes(
    workspace: Workspace,
) -> None:
    ws = workspace
    assert ws.run(["backup", str(ws.archive)], ws.admin)[0] == 0
    before = ws.counts()

    def flip_a_byte(members: dict[str, bytes]) -> None:
        name = _database_member(members)
        body = bytearray(members[name])
        body[len(body) // 2] ^= 0x01
        members[name] = bytes(body)

    tampered = _rewritten(ws.archive, flip_a_byte)
    code, output = ws.run(["restore", str(tampered), "--yes"], ws.admin)
    assert code == 2
    member = _database_member(_members(ws.archive))
    assert member in output and "changed or damaged" in output, output
    raw = bytearray(ws.archive.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    damaged = ws.archive.with_name("damaged.tar.gz")
    damaged.write_bytes(bytes(raw))
    code, output = ws.run(["restore", str(damaged), "--yes"], ws.admin)
    assert code == 2 and str(damaged) in output, output
    assert ws.counts() == before


def test_a_dump_broken_part_way_leaves_the_workspace_as_it_was(workspace: Workspace) -> None:
    ws = workspace
    assert ws.run(["backup", str(ws.archive)], ws.admin)[0] == 0
    key = (ws.settings.home / "identifier.key").read_bytes()
    before = ws.counts()

    def cut_the_dump(members: dict[str, bytes]) -> None:
        name = _database_member(members)
        members[name] = members[name][: len(members[name]) * 2 // 3]
        _with_manifest_fixed(members, name)

    broken = _rewritten(ws.archive, cut_the_dump)
    ws.database.dispose()
    code, output = ws.run(["restore", str(broken), "--yes"], ws.admin)
    assert code == 2, output
    assert ws.counts() == before
    assert (ws.settings.home / "identifier.key").read_bytes() == key
    code, output = ws.run(["audit", "verify"], ws.auditor)
    assert code == 0, output


def test_an_archive_of_another_database_kind_or_revision_is_refused(
    workspace: Workspace,
) -> None:
    ws = workspace
    assert ws.run(["backup", str(ws.archive)], ws.admin)[0] == 0
    other = "postgresql" if ws.database.dialect == "sqlite" else "sqlite"

    def manifest_says(**fields: str) -> Callable[[dict[str, bytes]], None]:
        def change(members: dict[str, bytes]) -> None:
            manifest = json.loads(members["manifest.json"])
            members["manifest.json"] = json.dumps({**manifest, **fields}).encode()

        return change

    code, output = ws.run(["restore", str(_rewritten(ws.archive, manifest_says(dialect=other))),
                           "--yes"], ws.admin)  # fmt: skip
    assert code == 2 and f"holds a {other} database" in output, output
    code, output = ws.run(["restore", str(_rewritten(ws.archive, manifest_says(revision="9999"))),
                           "--yes"], ws.admin)  # fmt: skip
    assert code == 2 and "'9999' is not one this Caseline" in output, output


@pytest.mark.parametrize("name", ["../escaped", "/tmp/escaped", "workspace/audit.key"])
def test_a_member_a_backup_never_holds_is_refused_before_it_is_written(
    workspace: Workspace, name: str
) -> None:
    ws = workspace
    assert ws.run(["backup", str(ws.archive)], ws.admin)[0] == 0

    def smuggle(members: dict[str, bytes]) -> None:
        members[name] = b"not the workspace's"
        manifest = json.loads(members["manifest.json"])
        manifest["members"].append({"name": name, "size": 19, "sha256": "0" * 64})
        members["manifest.json"] = json.dumps(manifest).encode()

    code, output = ws.run(["restore", str(_rewritten(ws.archive, smuggle)), "--yes"], ws.admin)
    assert code == 2 and f"{name}: not a member a Caseline backup holds" in output, output
    assert not (ws.settings.home.parent / "escaped").exists()


# The older copy is made with SQLite's own module.
@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_an_archive_of_an_older_revision_is_migrated_to_head(workspace: Workspace) -> None:
    ws = workspace
    assert ws.run(["backup", str(ws.archive)], ws.admin)[0] == 0
    head = json.loads(_members(ws.archive)["manifest.json"])["revision"]
    older = _older_revision(head)

    def take_it_back(members: dict[str, bytes]) -> None:
        name = _database_member(members)
        copy = ws.archive.with_name("older.sqlite")
        copy.write_bytes(members[name])
        command.downgrade(alembic_config(f"sqlite:///{copy}"), older)
        members[name] = copy.read_bytes()
        _with_manifest_fixed(members, name)
        manifest = json.loads(members["manifest.json"])
        members["manifest.json"] = json.dumps({**manifest, "revision": older}).encode()

    ws.database.dispose()
    code, output = ws.run(["restore", str(_rewritten(ws.archive, take_it_back)), "--yes"],
                          ws.admin)  # fmt: skip
    assert code == 0 and "audit chain intact" in output, output
    with ws.database.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
    assert ws.newest_event().details["revision"] == older


def _older_revision(head: str) -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    down = script.get_revision(head).down_revision
    assert isinstance(down, str)
    return down


def test_only_an_admin_backs_up_or_restores_and_refusals_are_audited(
    workspace: Workspace,
) -> None:
    ws = workspace
    for args in (["backup", str(ws.archive)], ["restore", str(ws.archive), "--yes"]):
        code, output = ws.run(args, ws.auditor)
        assert code == 2 and "may not back up workspace" in output, output
        refused = ws.newest_event()
        assert (refused.action, refused.actor, refused.object_id) == (
            "request_refused", "aud", f"caseline {args[0]}")  # fmt: skip
    assert not ws.archive.exists()


def test_an_existing_file_is_kept_unless_forced_and_declining_restores_nothing(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.archive.write_text("someone else's file")
    code, output = ws.run(["backup", str(ws.archive)], ws.admin)
    assert code == 2 and "exists" in output and "--force" in output
    assert ws.archive.read_text() == "someone else's file"
    code, output = ws.run(["backup", str(ws.archive), "--force"], ws.admin)
    assert code == 0, output
    before = ws.counts()
    declined = runner.invoke(app, ["restore", str(ws.archive)], input="n\n", env=ws.admin)
    assert declined.exit_code == 1 and "Nothing restored" in declined.output
    assert ws.counts() == before
