"""`caseline audit`: is the audit trail as it was written? Checkpoints of its head, kept
outside the database, and verification against them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caseline.cli.app import app, console, workspace
from caseline.oversight import (
    Checkpoint,
    append_checkpoint,
    checkpoint_audit_trail,
    read_checkpoints,
    verify_audit_trail,
)

audit_app = typer.Typer(help="Inspect the audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="File to append the line to (default: CASELINE_AUDIT_CHECKPOINT_FILE, "
            "audit-checkpoints.txt in the workspace); '-' prints it only.",
        ),
    ] = None,
) -> None:
    """Sign the audit chain's head and print the line: publish it or ship it elsewhere, so
    that a trail cut or rewritten below it is found by `caseline audit verify`."""
    with workspace() as ws:
        with ws.database.transaction() as session:
            checkpoint = checkpoint_audit_trail(session, actor=ws.actor(session))
        target = out or ws.settings.audit_checkpoint_path
        if str(target) != "-":
            append_checkpoint(target, checkpoint)
            console.print(f"checkpoint of event {checkpoint.seq} appended to {target}")
    typer.echo(checkpoint.line)


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="File of checkpoint lines to check against (default: the workspace's, if "
            "there is one).",
        ),
    ] = None,
) -> None:
    """Recompute the audit hash chain and check it against every checkpoint; exit 1 and
    name the first broken event if the trail was altered, cut or renumbered."""
    with workspace() as ws:
        path = checkpoint or ws.settings.audit_checkpoint_path
        checkpoints: list[Checkpoint] = (
            read_checkpoints(path) if checkpoint or path.exists() else []
        )
        with ws.database.transaction() as session:
            report = verify_audit_trail(session, actor=ws.actor(session), checkpoints=checkpoints)
    if not report.intact:
        console.print(
            f"[red]audit chain broken[/red] at event {report.first_broken_seq}: {report.reason}",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    console.print(
        f"audit chain intact: {report.events_checked:,} events "
        f"({report.keyed_events:,} with keyed hashes)"
    )
    if checkpoints:
        console.print(f"it holds every event {len(checkpoints):,} checkpoints in {path} saw")
    else:
        console.print(
            f"[yellow]no checkpoint[/yellow] at {path}: a cut tail cannot be found "
            "(take one with `caseline audit checkpoint`)"
        )
