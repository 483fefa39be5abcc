"""The Typer app every command module adds to, and what commands share: the workspace, the
user the command line acts as, progress bars, and how a date is given."""

from __future__ import annotations

import datetime as dt
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
from sqlalchemy.orm import Session

from caseline.config import Settings, load_settings
from caseline.db import Database, upgrade_to_head
from caseline.errors import AccessDenied, CaselineError
from caseline.oversight import Actor, actor_named

HELP = """The command line: generate, ingest, resolve, evaluate, export, serve, demo, users, audit.

Commands act as the Caseline user CASELINE_USER names, and that user's role decides what they
may do. Exit codes: 0 success; 1 finished but something needs attention (rows quarantined,
audit chain broken); 2 the input, the workspace or the user's role did not allow the command
(the message says where and why).
"""

app = typer.Typer(help=HELP, no_args_is_help=True, pretty_exceptions_enable=False)
# Tables stay readable when stderr is a file or a pipe (Rich would wrap at 80 columns).
console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

# The user a command acts as when not the one settings name (the demo acts as its engineer).
_acting_user: ContextVar[str | None] = ContextVar("acting_user", default=None)


@dataclass(frozen=True, slots=True)
class Workspace:
    settings: Settings
    database: Database

    def actor(self, session: Session) -> Actor:
        """The user the command line acts as, with the role the workspace gives them."""
        username = _acting_user.get() or self.settings.user
        if not username:
            raise AccessDenied(
                "the command line acts as a Caseline user: set CASELINE_USER to the name of "
                "one (an admin adds users with `caseline users add`)"
            )
        return actor_named(session, username)

    def acting(self) -> Actor:
        """The actor, read in a transaction of its own (for commands that open several)."""
        with self.database.transaction() as session:
            return self.actor(session)


@contextmanager
def workspace() -> Iterator[Workspace]:
    """Settings and a migrated database; Caseline errors become a clear message and exit 2."""
    try:
        settings = load_settings()
        upgrade_to_head(settings.resolved_database_url)
        database = Database(settings.resolved_database_url)
        try:
            yield Workspace(settings, database)
        finally:
            database.dispose()
    except CaselineError as exc:
        fail(str(exc))


@contextmanager
def acting_as(username: str) -> Iterator[None]:
    """Commands called inside act as ``username`` whatever CASELINE_USER says."""
    token = _acting_user.set(username)
    try:
        yield
    finally:
        _acting_user.reset(token)


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
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def date_option(help_text: str) -> Any:
    """The one way a command takes a date: ``--as-of 2026-01-01``, checked before it runs."""
    return typer.Option(parser=_iso_date, metavar="YYYY-MM-DD", help=help_text)
