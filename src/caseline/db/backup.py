"""Back up a workspace to one archive and restore it: the database and the workspace files it
needs (``models/``, ``identifier.key``), with a manifest of each member's sha256.

The archive is a gzip tar: ``manifest.json``, the database (SQLite: a consistent copy made by
SQLite's backup while the service may run; PostgreSQL: ``pg_dump --format=custom`` of the
workspace's schema) and ``workspace/...``. The audit key is never in it: it is what makes the
trail's hashes unforgeable by whoever holds the data, so the operator keeps it apart.

Backing up is audited after the archive is complete (its sha256 is known only then), so the
archive holds the trail up to the event before its own ``back_up_workspace``; the manifest
names that head. Restoring checks every member against the manifest before it touches
anything, replaces the data all at once (SQLite: a file renamed over the database;
PostgreSQL: the dump run in one transaction), migrates to this code's head, and appends
``restore_workspace`` to the restored chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TypeVar

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import make_url

from caseline import __version__
from caseline.config import Settings
from caseline.db.migrate import alembic_config, upgrade_to_head
from caseline.db.session import Database
from caseline.errors import AccessDenied, InputError, StateError
from caseline.files import PRIVATE_FILE, sqlite_files
from caseline.oversight import (
    Actor,
    ChainReport,
    Event,
    Permit,
    RequestRefused,
    WorkspaceBackedUp,
    WorkspaceRestored,
    permit,
    record_unproven,
    verify_chain,
)

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {"sqlite": "database/caseline.sqlite", "postgresql": "database/caseline.pgdump"}
WORKSPACE_PREFIX = "workspace/"
CLIENT_PACKAGE = "the PostgreSQL client tools (Debian/Ubuntu: `apt install postgresql-client`)"
Report = Callable[[str], None]
E = TypeVar("E", bound=Event)
_REVISION = "SELECT version_num FROM alembic_version"
_HEAD = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an archive holds and where it came from."""

    format: int
    caseline_version: str
    revision: str
    dialect: str
    schema: str | None
    taken_at: str
    taken_by: str
    head_seq: int
    head_hash: str
    members: tuple[Member, ...]

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes, where: str) -> Manifest:
        try:
            data = json.loads(raw)
            members = tuple(Member(str(m["name"]), int(m["size"]), str(m["sha256"]))
                            for m in data.pop("members"))  # fmt: skip
            manifest = cls(**data, members=members)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InputError(f"not a Caseline backup manifest ({exc})", where=where) from None
        if manifest.format != FORMAT:
            raise InputError(f"archive format {manifest.format}; this Caseline reads {FORMAT}",
                             where=where)  # fmt: skip
        return manifest


@dataclass(frozen=True, slots=True)
class BackupWritten:
    path: Path
    sha256: str
    size: int
    manifest: Manifest


@dataclass(frozen=True, slots=True)
class WorkspaceRestoredFrom:
    path: Path
    sha256: str
    manifest: Manifest
    chain: ChainReport


def back_up_workspace(
    settings: Settings,
    database: Database,
    actor: Actor,
    target: Path,
    *,
    force: bool = False,
    report: Report = lambda _: None,
) -> BackupWritten:
    """Write the workspace's archive to ``target`` (0600; written under a temporary name and
    renamed at the end, so a failure leaves nothing half-written) and audit it."""
    leave = _permit(database, actor, WorkspaceBackedUp, "caseline backup")
    if target.is_dir():
        raise InputError("a folder: name the archive's file", where=str(target))
    if target.exists() and not force:
        raise InputError("the file exists; give another name or --force", where=str(target))
    if not target.parent.is_dir():
        raise InputError("no such folder", where=str(target.parent))
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    with _staging(settings) as staging:
        dump = staging / "database"
        report(f"copying the {database.dialect} database")
        revision, schema, head = _dump(database, dump)
        files = [(DATABASE_MEMBERS[database.dialect], dump)]
        files += [
            (WORKSPACE_PREFIX + rel, settings.home / rel) for rel in _workspace_files(settings)
        ]
        members = tuple(
            Member(name, path.stat().st_size, _sha256_file(path)) for name, path in files
        )
        for member in members:
            report(f"  {member.name}: {member.size:,} bytes")
        manifest = Manifest(
            FORMAT, __version__, revision, database.dialect, schema,
            dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), actor.username, *head, members,
        )  # fmt: skip
        try:
            try:
                _write_archive(partial, manifest, files)
            except OSError as exc:  # a full disk, a folder we may not write in
                raise StateError(f"could not write {target}: {exc}") from None
            sha256, size = _sha256_file(partial), partial.stat().st_size
            with database.transaction() as session:
                leave.record(session, WorkspaceBackedUp(
                    sha256=sha256, file=str(target.resolve()), size=size, dialect=database.dialect,
                    revision=revision, head_seq=head[0], head_hash=head[1],
                ))  # fmt: skip
                partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    report(f"wrote {target} ({size:,} bytes, sha256 {sha256})")
    return BackupWritten(target, sha256, size, manifest)


def check_archive(path: Path, into: Path) -> tuple[Manifest, str]:
    """Unpack ``path`` into the folder ``into``, checking every member's size and sha256
    against the manifest; refuse, naming the member, an archive changed or damaged."""
    if not path.is_file():
        raise InputError("no such file", where=str(path))
    sha256 = _sha256_file(path)
    manifest: Manifest | None = None
    seen: dict[str, Member] = {}
    current = "the archive's start"
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            for info in archive:
                current = info.name
                where = f"{path}: {info.name}"
                if not info.isfile() or info.name in seen or not _holdable(info.name):
                    raise InputError("not a member a Caseline backup holds", where=where)
                stream = archive.extractfile(info)
                assert stream is not None  # a regular file
                if info.name == MANIFEST and manifest is None:
                    manifest = Manifest.from_json(stream.read(), where)
                    continue
                if manifest is None:
                    raise InputError("the manifest must come first", where=where)
                expected = {m.name: m for m in manifest.members}.get(info.name)
                if expected is None:
                    raise InputError("not listed in the manifest", where=where)
                destination = into / info.name
                destination.parent.mkdir(parents=True, exist_ok=True)
                size, digest = _copy_hashed(stream, destination)
                if (size, digest) != (expected.size, expected.sha256):
                    raise InputError(
                        f"{size:,} bytes with sha256 {digest}; the manifest says "
                        f"{expected.size:,} bytes, {expected.sha256}: changed or damaged",
                        where=where,
                    )
                seen[info.name] = expected
            current = "the archive's end"
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise InputError(f"damaged while reading {current}: {exc}", where=str(path)) from None
    if manifest is None:
        raise InputError("no manifest.json: not a Caseline backup", where=str(path))
    missing = [m.name for m in manifest.members if m.name not in seen]
    if missing:
        raise InputError(f"members the manifest lists are missing: {missing}", where=str(path))
    return manifest, sha256


def restore_workspace(
    settings: Settings,
    database: Database,
    actor: Actor,
    source: Path,
    *,
    confirm: Callable[[Manifest], bool] = lambda _: True,
    report: Report = lambda _: None,
) -> WorkspaceRestoredFrom | None:
    """Replace the workspace's data with the archive's, if it checks out and ``confirm``
    agrees (None if it does not); migrate it to head, audit it and verify the chain."""
    leave = _permit(database, actor, WorkspaceRestored, "caseline restore")
    with _staging(settings) as staging:
        report(f"checking {source}")
        manifest, sha256 = check_archive(source, staging)
        _check_fits(manifest, database, str(source))
        if not confirm(manifest):
            return None
        staged = staging / DATABASE_MEMBERS[manifest.dialect]
        report(f"restoring the {manifest.dialect} database (audit head {manifest.head_seq})")
        if manifest.dialect == "sqlite":
            _restore_sqlite(database, staged, manifest, str(source))
        else:
            _restore_postgresql(database, staged, manifest.schema)
        upgrade_to_head(database.url)
        _restore_files(settings, staging / WORKSPACE_PREFIX, report)
    with database.transaction() as session:
        leave.record(session, WorkspaceRestored(
            sha256=sha256, file=str(source.resolve()), taken_at=manifest.taken_at,
            taken_by=manifest.taken_by, revision=manifest.revision, head_seq=manifest.head_seq,
            head_hash=manifest.head_hash,
        ))  # fmt: skip
    with database.transaction() as session:
        chain = verify_chain(session, key_path=settings.audit_key_path)
    return WorkspaceRestoredFrom(source, sha256, manifest, chain)


def _holdable(name: str) -> bool:
    """A name a backup may hold: the manifest, a database, the identifier key or a model,
    inside the archive's folders (never absolute, never climbing out)."""
    parts = Path(name).parts
    if Path(name).is_absolute() or ".." in parts or name != "/".join(parts):
        return False
    workspace = name == f"{WORKSPACE_PREFIX}identifier.key" or (
        name.startswith(f"{WORKSPACE_PREFIX}models/") and len(parts) > 2
    )
    return name == MANIFEST or name in DATABASE_MEMBERS.values() or workspace


def _permit(database: Database, actor: Actor, event: type[E], command: str) -> Permit[E]:
    """Leave to back up or restore; a refusal is audited as the API audits its own."""
    try:
        return permit(actor, event)
    except AccessDenied as exc:
        with database.transaction() as session:
            refused = RequestRefused(path=command, method="CLI", status=403, reason=str(exc))
            record_unproven(session, refused, actor=actor)
        raise


@contextmanager
def _staging(settings: Settings) -> Iterator[Path]:
    """A private folder in the workspace for what is being packed or unpacked."""
    settings.home.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".backup-", dir=settings.home))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _workspace_files(settings: Settings) -> list[str]:
    """The workspace's files the database needs: the identifier key and the models."""
    found = ["identifier.key"] if (settings.home / "identifier.key").is_file() else []
    if settings.models_dir.is_dir():
        found += sorted(str(p.relative_to(settings.home)) for p in settings.models_dir.rglob("*")
                        if p.is_file())  # fmt: skip
    return found


def _dump(database: Database, into: Path) -> tuple[str, str | None, tuple[int, str]]:
    """The database copied to ``into``; its Alembic revision, schema and audit head, read
    from what was copied."""
    if database.dialect == "sqlite":
        live = str(database.engine.url.database)
        with closing(sqlite3.connect(live)) as source, closing(sqlite3.connect(into)) as copy:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one file, no write-ahead log
            revision, head = _sqlite_state(copy)
        return revision, None, head
    schema = _search_path_schema(database.url)
    dump = _client_tool("pg_dump")
    with database.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():  # pg_dump reads this transaction's snapshot
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            revision = connection.execute(text(_REVISION)).scalar_one()
            row = connection.execute(text(_HEAD)).first()
            args = [dump, "--format=custom", f"--snapshot={snapshot}", f"--file={into}"]
            args += [f"--schema={schema}"] if schema else []
            _run(args, database.url, "pg_dump")
    return revision, schema, (row[0], row[1]) if row else (0, "")


def _sqlite_state(connection: sqlite3.Connection) -> tuple[str, tuple[int, str]]:
    revision = connection.execute(_REVISION).fetchone()[0]
    row = connection.execute(_HEAD).fetchone()
    return revision, (row[0], row[1]) if row else (0, "")


def _search_path_schema(url: str) -> str | None:
    """The schema a URL's ``options=-csearch_path=...`` names first, if it names one."""
    options = make_url(url).query.get("options", "")
    found = re.search(
        r"search_path\s*=\s*([^,\s]+)", " ".join([options] if isinstance(options, str) else options)
    )
    return found.group(1).strip('"') if found else None


def _client_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StateError(f"{name} is not installed: install {CLIENT_PACKAGE}, of the server's "
                         "major version or newer")  # fmt: skip
    return path


def _run(args: list[str], url: str | None, tool: str) -> None:
    """Run a PostgreSQL client tool, on the database ``url`` names if given (a libpq URI, its
    password passed in the environment, never on the command line)."""
    env, command = dict(os.environ), list(args)  # our own arguments, no shell
    if url is not None:
        parsed = make_url(url)
        uri = parsed.set(drivername="postgresql", password=None)
        command.append(f"--dbname={uri.render_as_string(hide_password=False)}")
        env.update({"PGPASSWORD": str(parsed.password)} if parsed.password else {})
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise StateError(f"{tool} failed (exit {done.returncode}): {done.stderr.strip()[-800:]}")


def _write_archive(partial: Path, manifest: Manifest, files: list[tuple[str, Path]]) -> None:
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
        body = manifest.to_json()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode = len(body), PRIVATE_FILE
        info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
        archive.addfile(info, io.BytesIO(body))
        for name, path in files:
            archive.add(path, arcname=name, recursive=False)
        raw.flush()
        os.fsync(raw.fileno())


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_hashed(stream: IO[bytes], destination: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(descriptor, "wb") as out:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def _check_fits(manifest: Manifest, database: Database, where: str) -> None:
    """Refuse an archive this workspace cannot take: another kind of database, a schema of
    another name, or a revision this code cannot migrate from."""
    if manifest.dialect != database.dialect:
        raise InputError(f"the archive holds a {manifest.dialect} database; this workspace's is "
                         f"{database.dialect}: restore it into a {manifest.dialect} workspace",
                         where=where)  # fmt: skip
    if DATABASE_MEMBERS[manifest.dialect] not in {m.name for m in manifest.members}:
        raise InputError("the manifest lists no database", where=where)
    if manifest.dialect == "postgresql":
        schema = _search_path_schema(database.url)
        if manifest.schema != schema:
            raise InputError(f"the archive holds the schema {manifest.schema or '(all)'}; this "
                             f"workspace's is {schema or '(all)'}: use pg_restore to move it",
                             where=where)  # fmt: skip
    try:
        ScriptDirectory.from_config(alembic_config(database.url)).get_revision(manifest.revision)
    except CommandError:
        raise InputError(f"database revision {manifest.revision!r} is not one this Caseline "
                         f"({__version__}) can migrate from (made by newer code?)",
                         where=where) from None  # fmt: skip


def _restore_sqlite(database: Database, staged: Path, manifest: Manifest, where: str) -> None:
    """Check the copy, then rename it over the database file: all at once."""
    try:
        with closing(sqlite3.connect(staged)) as copy:
            if copy.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise InputError("the database copy fails SQLite's integrity check", where=where)
            revision, head = _sqlite_state(copy)
    except sqlite3.DatabaseError as exc:
        raise InputError(f"the database copy is not a usable SQLite database: {exc}",
                         where=where) from None  # fmt: skip
    if (revision, head) != (manifest.revision, (manifest.head_seq, manifest.head_hash)):
        raise InputError("the database copy's revision or audit head differs from the manifest",
                         where=where)  # fmt: skip
    live, wal, shm = sqlite_files(database.url)
    beside = live.with_name(f"{live.name}.restoring")
    shutil.move(staged, beside)
    database.dispose()
    with closing(sqlite3.connect(live)) as connection:  # fold the log into the old file
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    beside.replace(live)
    for stale in (wal, shm):  # the old file's, now empty: the new file has none
        stale.unlink(missing_ok=True)


def _restore_postgresql(database: Database, staged: Path, schema: str | None) -> None:
    """All or nothing. A schema's dump is turned into SQL and run as one transaction after
    dropping the schema whole (``pg_restore --clean`` would keep, and then fail on, a table
    a newer migration added); a whole database's is restored by ``pg_restore --clean``."""
    database.dispose()
    restore = _client_tool("pg_restore")
    unchanged = "nothing was changed: it runs as one transaction"
    if schema is None:
        args = [restore, "--clean", "--if-exists", "--no-owner", "--single-transaction",
                "--exit-on-error", str(staged)]  # fmt: skip
        _run(args, database.url, f"pg_restore ({unchanged})")
        return
    script = staged.with_name("restore.sql")
    _run([restore, "--no-owner", f"--file={script}", str(staged)], None, "pg_restore")
    quoted = '"' + schema.replace('"', '""') + '"'
    args = [_client_tool("psql"), "--quiet", "--no-psqlrc", "--single-transaction",
            "--set=ON_ERROR_STOP=1", f"--command=DROP SCHEMA IF EXISTS {quoted} CASCADE",
            f"--file={script}"]  # fmt: skip
    _run(args, database.url, f"psql, restoring the dump ({unchanged})")


def _restore_files(settings: Settings, staged: Path, report: Report) -> None:
    """The archive's identifier key and models in place of the workspace's."""
    key = staged / "identifier.key"
    if key.is_file():
        key.replace(settings.home / "identifier.key")
        report("  identifier.key restored")
    models = settings.models_dir
    old = models.with_name(f"models.before-restore-{uuid.uuid4().hex[:8]}")
    if models.exists():
        models.replace(old)
    if (staged / "models").is_dir():
        shutil.move(staged / "models", models)
        report(f"  models/ restored ({sum(1 for _ in models.rglob('*')):,} files)")
    with suppress(FileNotFoundError):
        shutil.rmtree(old)
