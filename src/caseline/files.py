"""Files the workspace writes (the database, keys, models, exports, reports) are readable by
their owner only: folders 0700, files 0600.

Entry points (the command line, the server it starts) call :func:`protect_workspace` before
they write anything: it sets the process's umask, so every file made afterwards is the owner's
alone, and tightens what an older workspace already holds. A writer of a file a user names
(an export) calls :func:`make_private` on it as well, whoever called it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from caseline.config import Settings

OWNER_ONLY_UMASK = 0o077
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
# What the workspace folder holds that a user or a later command relies on.
_WORKSPACE_ENTRIES = (
    "identifier.key",
    "audit.key",
    "audit-checkpoints.txt",
    "cli-session",
    "models",
    "reports",
    "exports",
)


def keep_private() -> None:
    """Every file and folder this process makes from now on is its owner's alone."""
    os.umask(OWNER_ONLY_UMASK)


def make_private(*paths: Path) -> None:
    """Owner-only modes on what exists of ``paths`` (folders 0700, files 0600)."""
    for path in paths:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            continue
        path.chmod(PRIVATE_FOLDER if stat.S_ISDIR(mode) else PRIVATE_FILE)


def make_private_tree(folder: Path) -> None:
    """Owner-only modes on ``folder`` and everything under it."""
    if not folder.is_dir():
        make_private(folder)
        return
    make_private(folder)
    for root, folders, files in os.walk(folder):
        make_private(*(Path(root) / name for name in (*folders, *files)))


def sqlite_files(url: str) -> list[Path]:
    """The files of a SQLite database (with its write-ahead log and shared memory)."""
    if not url.startswith("sqlite:///") or ":memory:" in url:
        return []
    database = Path(url.removeprefix("sqlite:///").split("?")[0])
    return [database, *(database.with_name(database.name + end) for end in ("-wal", "-shm"))]


def protect_workspace(settings: Settings) -> None:
    """Set the owner-only umask and tighten what the workspace already holds."""
    keep_private()
    settings.home.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    make_private(settings.home, *sqlite_files(settings.resolved_database_url))
    make_private(settings.audit_key_path, settings.audit_checkpoint_path)
    for name in _WORKSPACE_ENTRIES:
        make_private_tree(settings.home / name)
