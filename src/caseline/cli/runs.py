"""`caseline runs`: the ingest runs and the resolution runs, as two tables or as JSON."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from caseline.cli.app import app, console, workspace
from caseline.ingest import IngestRunSummary, list_ingest_runs
from caseline.resolve import ResolutionRunSummary, list_resolution_runs


@app.command()
def runs(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print both lists as one JSON object.")
    ] = False,
) -> None:
    """List every ingest run (file, source, rows loaded, quarantined, values left out,
    seconds, rows per second) and every resolution run (engine, model, threshold, records,
    persons, whether incremental, and the F1 and address top-1 evaluated after it), newest
    first. `caseline problems` shows a file's rows."""
    with workspace() as ws, ws.database.transaction() as session:
        actor = ws.actor(session)
        ingested = list_ingest_runs(session, actor=actor)
        resolved = list_resolution_runs(session, actor=actor)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ingest_runs": [run.as_dict() for run in ingested],
                    "resolution_runs": [run.as_dict() for run in resolved],
                },
                indent=2,
            )
        )
        return
    _print_ingest_runs(ingested)
    _print_resolution_runs(resolved)


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _print_ingest_runs(found: list[IngestRunSummary]) -> None:
    if not found:
        console.print("no file ingested yet (`caseline ingest`)")
        return
    table = Table(
        "run", "file", "source", "loaded", "quarantined", "values left out", "seconds",
        "rows/s", "started", title="Ingest runs",
    )  # fmt: skip
    for run in found:
        table.add_row(
            str(run.run_id),
            run.file_name,
            run.source,
            f"{run.loaded:,}",
            f"{run.quarantined:,}",
            f"{run.value_issues:,}",
            _number(run.seconds, 2),
            _number(run.rows_per_second, 0),
            run.started_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


def _print_resolution_runs(found: list[ResolutionRunSummary]) -> None:
    if not found:
        console.print("no resolution run yet (`caseline resolve`)")
        return
    table = Table(
        "run", "kind", "engine", "model", "threshold", "records", "persons", "seconds", "F1",
        "address top-1", "started", title="Resolution runs",
    )  # fmt: skip
    for run in found:
        table.add_row(
            str(run.run_id),
            "incremental" if run.incremental else "full",
            run.engine,
            run.model_file,
            f"{run.threshold:g}",
            f"{run.records:,}",
            f"{run.persons:,}",
            _number(run.seconds, 2),
            _number(run.accuracy.f1 if run.accuracy else None, 4),
            _number(run.addresses.top1_accuracy if run.addresses else None, 4),
            run.started_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
