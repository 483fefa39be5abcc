"""`caseline export`: every person and address, for other tools (audited, with a purpose)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from caseline.cli.app import app, console, date_option, fail, progress, workspace
from caseline.oversight import seek_countersign
from caseline.profiles import EXPORT_SCOPE, export_ftm, load_address_model


class ExportFormat(StrEnum):
    FTM = "ftm"


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="File to write (JSON lines).")],
    purpose: Annotated[str, typer.Option(help="Why the persons are exported (audited).")],
    export_format: Annotated[
        ExportFormat, typer.Option("--format", help="ftm: FollowTheMoney entities.")
    ] = ExportFormat.FTM,
    as_of: Annotated[
        dt.date | None, date_option("Date address confidence is for (default: today).")
    ] = None,
) -> None:
    """Export every person and address (with confidence and evidence) for other tools.

    The purpose must be countersigned by a supervisor for this scope first: the first try
    files it (`caseline purposes pending` lists it for them) and stops with exit 2."""
    with workspace() as ws:
        with ws.database.transaction() as session:
            pending = seek_countersign(session, ws.actor(session), EXPORT_SCOPE, purpose)
        if pending is not None:
            fail(
                f"the export's purpose waits for a supervisor's countersignature (request "
                f"{pending}, {EXPORT_SCOPE}): `caseline purposes countersign {pending}`"
            )
    with workspace() as ws, progress() as bar:
        task = bar.add_task(f"exporting {export_format.value}", total=None)
        with ws.database.transaction() as session:
            summary = export_ftm(
                session,
                out,
                actor=ws.actor(session),
                purpose=purpose,
                as_of=as_of or dt.date.today(),
                model=load_address_model(),
            )
        bar.update(task, description="exported", total=1, completed=1)
    console.print(
        f"{summary.persons:,} persons and {summary.addresses:,} addresses -> {summary.path}"
    )
