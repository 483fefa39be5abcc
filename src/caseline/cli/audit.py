"""`caseline audit`: the trail's events, and is it as it was written? Checkpoints of its
head, kept outside the database, and verification against them."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from caseline.cli.app import app, console, date_option, workspace
from caseline.oversight import (
    MAX_TRAIL_PAGE,
    Checkpoint,
    Period,
    TrailFilters,
    append_checkpoint,
    checkpoint_audit_trail,
    read_checkpoints,
    read_trail,
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


@audit_app.command("events")
def audit_events(
    who: Annotated[str | None, typer.Option(help="Only this actor's events.")] = None,
    what: Annotated[str | None, typer.Option(help="Only this action (read_person, ...).")] = None,
    about: Annotated[
        str | None, typer.Option(help="Only events about this person, case or object id.")
    ] = None,
    since: Annotated[dt.date | None, date_option("First day (none: since the start).")] = None,
    until: Annotated[dt.date | None, date_option("Last day, inclusive (today).")] = None,
    offset: Annotated[int, typer.Option(min=0, help="Events to skip, newest first.")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=MAX_TRAIL_PAGE, help="Events to show.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per event.")] = False,
) -> None:
    """The audit trail as it is, newest first, narrowed by actor, action, object and days
    (auditors; the read is itself an event)."""
    filters = TrailFilters(Period.of(since, until), who=who, what=what, about=about)
    with workspace() as ws, ws.database.transaction() as session:
        page = read_trail(session, actor=ws.actor(session), filters=filters, offset=offset,
                          limit=limit)  # fmt: skip
    if as_json:
        for event in page.events:
            typer.echo(json.dumps(asdict(event), default=str, sort_keys=True))
        return
    table = Table("seq", "when (UTC)", "actor", "action", "object", "purpose", "case")
    for e in page.events:
        table.add_row(
            str(e.seq), e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"), f"{e.actor} ({e.role})",
            e.action, f"{e.object_type} {e.object_id or ''}".strip(), e.purpose or "",
            e.case_id or "",
        )  # fmt: skip
    console.print(table)
    shown = len(page.events)
    console.print(f"{page.offset + 1 if shown else 0}-{page.offset + shown} of {page.total:,}")
