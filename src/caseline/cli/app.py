"""The Typer app every command module adds to, and what commands share: the workspace, the
user the command line acts as, progress bars, and how a date is given."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from caseline.config import Settings, load_settings
from caseline.db import Database, upgrade_to_head
from caseline.errors import AccessDenied, CaselineError
from caseline.files import protect_workspace
from caseline.oversight import Actor, actor_for_token, actor_with_password
from caseline.standardise import EARLIEST_YEAR, LATEST_YEAR

HELP = """The command line: generate, ingest, resolve, evaluate, export, serve, demo, login, users,
audit.

Commands act as the Caseline user who signed in with `caseline login` (or whose session token
CASELINE_TOKEN holds), and that user's role decides what they may do. Exit codes: 0 success;
1 finished but something needs attention (rows quarantined, audit chain broken); 2 the input,
the workspace or the user's role did not allow the command (the message says where and why).
"""

app = typer.Typer(help=HELP, no_args_is_help=True, pretty_exceptions_enable=False)
# Tables stay readable when stderr is a file or a pipe (Rich would wrap at 80 columns).
console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

# The user a command acts as when a program holds their name and password (the demo acts as
# the engineer it made), instead of the session `caseline login` opened.
_acting_user: ContextVar[tuple[str, str] | None] = ContextVar("acting_user", default=None)
SESSION_FILE = "cli-session"  # in the workspace, readable by its owner only


@dataclass(frozen=True, slots=True)
class Workspace:
    settings: Settings
    database: Database

    def actor(self, session: Session) -> Actor:
        """The user the command line acts as: proved by a session token (``caseline login``
        or CASELINE_TOKEN), never by a name alone; their role decides what they may do."""
        acting = _acting_user.get()
        if acting is not None:
            return actor_with_password(session, *acting)
        token = self.settings.token or saved_token(self.settings)
        if not token:
            raise AccessDenied(
                "sign in first: `caseline login NAME` (scripts may set CASELINE_TOKEN); "
                "the workspace's first admin is added with `caseline users add NAME --role admin`"
            )
        idle = dt.timedelta(minutes=self.settings.session_idle_minutes)
        try:
            return actor_for_token(session, token, idle=idle)
        except AccessDenied as exc:
            raise AccessDenied(f"{exc} (`caseline login NAME`)") from None

    def acting(self) -> Actor:
        """The actor, read in a transaction of its own (for commands that open several)."""
        with self.database.transaction() as session:
            return self.actor(session)


@contextmanager
def workspace() -> Iterator[Workspace]:
    """Settings and a migrated database, in a workspace only its owner can read; Caseline
    errors become a clear message and exit 2."""
    try:
        settings = load_settings()
        protect_workspace(settings)  # before the database is made: owner-only from the start
        upgrade_to_head(settings.resolved_database_url)
        database = Database(settings.resolved_database_url)
        try:
            yield Workspace(settings, database)
        finally:
            database.dispose()
    except CaselineError as exc:
        fail(str(exc))
    except (OperationalError, InterfaceError) as exc:  # the database itself failed
        fail(database_failure(exc))


# Words SQLite and PostgreSQL use when the disk under the database cannot take a write.
_DISK_FULL = ("disk is full", "disk i/o error", "no space left", "could not extend file")


def database_failure(exc: OperationalError | InterfaceError) -> str:
    """What a failure of the database means for the user (its transaction is rolled back)."""
    said = str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0]
    if any(words in said.lower() for words in _DISK_FULL):
        return (
            f"the disk holding the database is full or failed a write ({said}); nothing of "
            "this command was kept: free some space and run it again"
        )
    return (
        f"the database is busy or unreachable ({said}); nothing of this command was kept: "
        "run it again once the database answers"
    )


@contextmanager
def acting_as(username: str, password: str) -> Iterator[None]:
    """Commands called inside act as ``username``, proved by their password."""
    token = _acting_user.set((username, password))
    try:
        yield
    finally:
        _acting_user.reset(token)


def saved_token(settings: Settings) -> str | None:
    path = settings.home / SESSION_FILE
    return path.read_text(encoding="utf-8").strip() or None if path.exists() else None


def save_token(settings: Settings, token: str | None) -> None:
    """Keep the session token for the next commands (owner-only), or forget it."""
    path = settings.home / SESSION_FILE
    if token is None:
        path.unlink(missing_ok=True)
        return
    settings.home.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(token)
    path.chmod(0o600)


def read_password(from_stdin: bool, *, confirm: bool) -> str:
    """A password from the terminal (hidden, typed twice when ``confirm``) or, with
    ``--password-stdin``, the first line of standard input; never from an argument."""
    if from_stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return password


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error that says where and why, and stop with ``code``."""
    console.print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True)
    raise typer.Exit(code)


def progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _iso_date(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise typer.BadParameter(f"{value!r} is outside the years {EARLIEST_YEAR} to {LATEST_YEAR}")
    return day


def date_option(help_text: str) -> Any:
    """The one way a command takes a date: ``--as-of 2026-01-01``, checked before it runs."""
    return typer.Option(parser=_iso_date, metavar="YYYY-MM-DD", help=help_text)
