"""Incremental placement through the running service: `POST /api/records` timed end to end.

Used by ``benchmarks/incremental.py --serve WS``. The resolved workspace ``WS`` (a folder
`caseline resolve` resolved; with ``--database-url``, its PostgreSQL database) is copied
first: the folder, and the database (SQLite's file with the folder; PostgreSQL's as
``CREATE DATABASE copy TEMPLATE original``, which needs nobody connected to the original),
so that the original gains no records. A data engineer is added to the copy, `caseline
serve` is started on it (127.0.0.1, a free port), and each run posts ``--new`` rows of the
world's tax file under new filing ids (the same taxpayers filing again, so they are new
records that belong to known persons), timing the answer. A first post, untimed, opens the
server's resolver (its seconds are reported apart).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from caseline.config import load_settings
from caseline.db import Database
from caseline.oversight import Actor, Role, create_user
from serving import served

ENGINEER, PASSWORD = "bench-engineer", "incremental benchmark pass 1"
COPY_NAME = "caseline_incremental_bench"


def copy_workspace(resolved: Path, work: Path, database_url: str | None) -> str:
    """Copy the workspace into ``work``; the copy's database URL."""
    shutil.copytree(resolved, work, dirs_exist_ok=True)
    if database_url is None:
        return f"sqlite:///{work / 'caseline.db'}"
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    deadline = time.monotonic() + 600
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{COPY_NAME}"'))
        while True:  # the template must have no one connected: wait for a gap
            try:
                connection.execute(text(f'CREATE DATABASE "{COPY_NAME}" TEMPLATE "{url.database}"'))
                break
            except Exception as exc:  # noqa: BLE001 - "being accessed by other users"
                if time.monotonic() > deadline:
                    sys.exit(f"incremental: could not copy {url.database}: {exc}")
                time.sleep(2)
    admin.dispose()
    return url.set(database=COPY_NAME).render_as_string(hide_password=False)


def drop_copy(database_url: str | None) -> None:
    if database_url is None:
        return
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{COPY_NAME}" WITH (FORCE)'))
    admin.dispose()


def add_engineer(work: Path, database_url: str) -> None:
    """A data engineer in the copy; the event is keyed with the copy's audit key, which the
    audit writer finds through the environment (as the server will)."""
    settings = load_settings(home=work, database_url=database_url)
    os.environ["CASELINE_AUDIT_KEY_FILE"] = str(settings.audit_key_path)
    database = Database(settings.resolved_database_url)
    try:
        with database.transaction() as session:
            create_user(session, ENGINEER, Role.DATA_ENGINEER, PASSWORD,
                        actor=Actor("benchmark-admin", Role.ADMIN))  # fmt: skip
    finally:
        database.dispose()
        del os.environ["CASELINE_AUDIT_KEY_FILE"]


def tax_batches(world: Path, new: int, count: int, folder: Path) -> list[Path]:
    """``count`` files of ``new`` tax rows each (spread over the file), under new filing ids."""
    lines = (world / "tax.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    stride = max(1, len(rows) // (new * count))
    chosen = rows[::stride][: new * count]
    stamp = uuid.uuid4().hex[:6]
    files = []
    for n in range(count):
        part = chosen[n * new : (n + 1) * new]
        path = folder / f"tax-bench-{stamp}-{n}.csv"
        path.write_text(header + "".join(f"B{stamp}{n}-{row}" for row in part), encoding="utf-8")
        files.append(path)
    return files


def post_batch(base: str, token: str, path: Path) -> tuple[float, dict[str, Any]]:
    """Post one batch; the seconds until the answer, and the answer."""
    started = time.perf_counter()
    with path.open("rb") as handle:
        answer = requests.post(
            base + "/api/records",
            files={"file": (path.name, handle, "text/csv")},
            data={"source": "tax"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=900,
        )
    seconds = time.perf_counter() - started
    if answer.status_code != 200:
        sys.exit(f"incremental: POST /api/records answered {answer.status_code}: {answer.text}")
    body: dict[str, Any] = answer.json()
    return seconds, body


def service_runs(
    resolved: Path,
    world: Path,
    new: int,
    runs: int,
    work: Path,
    *,
    database_url: str | None,
    workers: int,
) -> list[dict[str, Any]]:
    """Copy, serve, warm the resolver with one untimed batch, then time ``runs`` batches."""
    url = copy_workspace(resolved, work, database_url)
    try:
        add_engineer(work, url)
        batches = tax_batches(world, new, runs + 1, work)
        with served(work, url, log_name="incremental-server.log", workers=workers) as base:
            token = requests.post(
                base + "/api/sessions",
                json={"username": ENGINEER, "password": PASSWORD},
                timeout=60,
            ).json()["token"]
            warm_seconds, warm = post_batch(base, token, batches[0])
            print(f"  first batch (opening the resolver {warm['opened_seconds']:.1f} s): "
                  f"{warm_seconds:.2f} s")  # fmt: skip
            results = []
            for path in batches[1:]:
                seconds, body = post_batch(base, token, path)
                placement, steps = body["placement"], body["seconds"]
                print(
                    f"  {placement['new_records']:,} new placed, answered in {seconds:.2f} s "
                    f"({placement['joined_existing']:,} joined persons, "
                    f"{placement['new_persons']:,} new, {placement['candidates']:,} candidates): "
                    + ", ".join(f"{name} {s:.2f}" for name, s in steps.items())
                )
                results.append({
                    "incremental_seconds": seconds,
                    "open_seconds": warm["opened_seconds"],
                    "new_records": float(placement["new_records"]),
                    "candidates": float(placement["candidates"]),
                    "steps": steps,
                })  # fmt: skip
        return results
    finally:
        drop_copy(database_url)
