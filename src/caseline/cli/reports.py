"""`caseline reports`: the oversight reports, for auditors and admins, as a table, CSV or
JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from caseline.cases import REPORTS, Thresholds, read_report
from caseline.cli.app import app, console, workspace
from caseline.oversight import Period, Report

_DAY = ["%Y-%m-%d"]


@app.command()
def reports(
    name: Annotated[
        str | None, typer.Argument(help="The report (none: list the reports).", show_default=False)
    ] = None,
    start: Annotated[
        dt.datetime | None,
        typer.Option("--from", formats=_DAY, help="First day, YYYY-MM-DD (none: since the start)."),
    ] = None,
    end: Annotated[
        dt.datetime | None,
        typer.Option("--to", formats=_DAY, help="Last day, inclusive, YYYY-MM-DD (today)."),
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Also write the table as CSV here ('-': stdout).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Read an oversight report over a period: who looked at whom, refused attempts, cases
    by state and age, guard stops, overdue departures, accuracy per naming group (auditors
    and admins; each read is audited)."""
    if name is None:
        for kind in REPORTS.values():
            typer.echo(f"{kind.name}\t{kind.title}")
        return
    with workspace() as ws:
        period = Period.of(start.date() if start else None, end.date() if end else None)
        with ws.database.transaction() as session:
            found = read_report(
                session,
                name,
                actor=ws.actor(session),
                period=period,
                thresholds=Thresholds.of(ws.settings),
            )
    _print(found)
    if csv_file is not None:
        if str(csv_file) == "-":
            typer.echo(found.csv(), nl=False)
        else:
            csv_file.write_text(found.csv(), encoding="utf-8")
            csv_file.chmod(0o600)  # user names, ids and purposes: the owner's alone
            console.print(f"{len(found.rows):,} rows written to {csv_file}")
    if as_json:
        typer.echo(json.dumps(found.as_dict(), sort_keys=True))


def _print(report: Report) -> None:
    start = report.period.start.isoformat() if report.period.start else "the start"
    table = Table(*report.columns, title=f"{report.title} ({start} to {report.period.end})")
    for row in report.rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(table)
    if report.note:
        console.print(report.note, soft_wrap=True)
