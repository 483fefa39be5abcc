"""A PostgreSQL cluster of a test's own, on this machine: initialised in a folder of its own,
listening on a free port on 127.0.0.1, and stopped and started as the test says.

The tests share one cluster (scripts/postgres-up, port 54329) that no test may restart; a test
that stops the server under a running service (tests/test_postgres_restart.py) starts one of
these instead. It is made the way scripts/postgres-up makes the shared one: the server
binaries of the newest PostgreSQL installed, run as the ``postgres`` user when the tests run
as root (the server refuses to run as root), trust authentication on 127.0.0.1 only, and
``fsync=off`` (nothing here must survive the machine).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

STOP_MODES = ("smart", "fast", "immediate")  # pg_ctl's: wait for clients, cut them, crash
SERVER_SECONDS = 60  # a start or stop of an empty cluster takes seconds; a minute is a failure


def _server_binaries() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if not found:
        raise RuntimeError("no PostgreSQL server binaries: apt-get install postgresql")
    return found[-1].parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class PostgresCluster:
    """One running (or stopped) server: its data folder, its port, its binaries."""

    folder: Path  # the cluster's own: data/, the server's log, its socket
    port: int
    binaries: Path

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def libpq_url(self, database: str = "postgres") -> str:
        """The URL as PostgreSQL's own tools (psql, pg_dump) take it."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Start the server and return once it takes connections (after a crash, once it has
        recovered)."""
        self._pg_ctl("start", "-w", "-t", str(SERVER_SECONDS), "-l", str(self.log))

    def stop(self, mode: str) -> None:
        """Stop the server in pg_ctl's ``mode`` and return once it is down: ``fast`` ends
        every session and shuts down cleanly; ``immediate`` kills every process, a crash
        that the next start recovers from."""
        if mode not in STOP_MODES:
            raise ValueError(f"pg_ctl stops in one of {STOP_MODES}, not {mode!r}")
        self._pg_ctl("stop", "-w", "-t", str(SERVER_SECONDS), "-m", mode)

    def is_running(self) -> bool:
        return self._pg_ctl("status", check=False).returncode == 0

    def _pg_ctl(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _as_server_user(
            [str(self.binaries / "pg_ctl"), "-D", str(self.data), *arguments], check=check
        )


@contextmanager
def postgres_cluster(*, max_connections: int = 50) -> Iterator[PostgresCluster]:
    """A new cluster, started, with its superuser ``postgres`` trusted on 127.0.0.1; stopped
    (as a crash: nothing in it is kept) and its folder removed on leaving."""
    folder = Path(tempfile.mkdtemp(prefix="caseline-pg-cluster-"))
    cluster = PostgresCluster(folder, free_port(), _server_binaries())
    try:
        if os.geteuid() == 0:
            server_user = pwd.getpwnam("postgres")
            os.chown(folder, server_user.pw_uid, server_user.pw_gid)
        _as_server_user([
            str(cluster.binaries / "initdb"), "-D", str(cluster.data), "-U", "postgres",
            "-A", "trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
        ])  # fmt: skip
        settings = {
            "port": str(cluster.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{folder}'",
            "fsync": "off",
            "max_connections": str(max_connections),
        }
        conf = "".join(f"{name} = {value}\n" for name, value in settings.items())
        _as_server_user(["sh", "-c", f"cat >> '{cluster.data}/postgresql.conf'"], input=conf)
        cluster.start()
        yield cluster
    finally:
        with suppress(RuntimeError, FileNotFoundError):
            if cluster.data.exists() and cluster.is_running():
                cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


def _as_server_user(
    command: list[str], *, check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a server command as ``postgres`` when the tests run as root, else as ourselves."""
    server_user = "postgres" if os.geteuid() == 0 else None
    done: subprocess.CompletedProcess[str] = subprocess.run(
        command,
        cwd="/",
        input=input,
        capture_output=True,
        text=True,
        check=False,
        timeout=SERVER_SECONDS * 2,
        user=server_user,
        group=server_user,
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:2])} failed ({done.returncode}):\n{done.stderr}")
    return done
