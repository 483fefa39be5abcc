"""`caseline backup` and `caseline restore`: the workspace's database and the files it needs
in one archive, and back again (admins; docs/backup.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caseline.cli.app import app, console, fail, workspace
from caseline.db.backup import Manifest, back_up_workspace, restore_workspace
from caseline.errors import CaselineError


def _say(line: str) -> None:
    console.print(line, soft_wrap=True, highlight=False, markup=False)


@app.command("backup")
def backup(
    file: Annotated[Path, typer.Argument(help="The archive to write (a gzip tar).")],
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
) -> None:
    """Write the workspace's database, models and identifier key to one archive with a
    manifest of sha256 sums (not the audit key: keep that apart); audited."""
    with workspace() as ws:
        try:
            written = back_up_workspace(
                ws.settings, ws.database, ws.acting(), file, force=force, report=_say
            )
        except CaselineError as exc:
            fail(str(exc))
    typer.echo(written.sha256)


@app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="An archive `caseline backup` wrote.")],
    yes: Annotated[bool, typer.Option("--yes", help="Replace the data without asking.")] = False,
) -> None:
    """Replace the workspace's data with an archive's, after checking every member against
    its manifest; migrate it, audit it and verify the audit chain."""

    def confirm(manifest: Manifest) -> bool:
        _say(
            f"The archive holds a {manifest.dialect} database at revision {manifest.revision}, "
            f"taken {manifest.taken_at} by {manifest.taken_by}, audit head {manifest.head_seq}."
        )
        return yes or typer.confirm(
            "Replace this workspace's data with it? Everything since is lost", err=True
        )

    with workspace() as ws:
        try:
            restored = restore_workspace(
                ws.settings, ws.database, ws.acting(), file, confirm=confirm, report=_say
            )
        except CaselineError as exc:
            fail(str(exc))
    if restored is None:
        _say("Nothing restored.")
        raise typer.Exit(1)
    chain = restored.chain
    if not chain.intact:
        _say(
            f"restored, but the audit chain is broken at event {chain.first_broken_seq}: "
            f"{chain.reason} (is CASELINE_AUDIT_KEY_FILE the key the trail was written with?)"
        )
        raise typer.Exit(1)
    _say(f"restored {file}: audit chain intact, {chain.events_checked:,} events")
