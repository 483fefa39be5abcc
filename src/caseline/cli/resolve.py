"""`caseline resolve`: records into persons, in full or for the new records only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caseline.cli.app import Workspace, app, console, progress, workspace
from caseline.errors import InputError
from caseline.resolve import Engine, engine_named, resolve_incrementally, resolve_persons


@app.command()
def resolve(
    engine: Annotated[str, typer.Option(help="Engine that runs the model: duckdb or spark.")] = (
        "duckdb"
    ),
    model: Annotated[
        Path | None, typer.Option(help="Score with this saved model instead of training one.")
    ] = None,
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental",
            help="Only place records ingested since the last run, with that run's model.",
        ),
    ] = False,
    spark_master: Annotated[
        str | None,
        typer.Option(
            help="With --engine spark: run on this cluster (spark://HOST:PORT, yarn, "
            "k8s://...) rather than in local mode. Default: CASELINE_SPARK_MASTER.",
        ),
    ] = None,
    spark_staging: Annotated[
        str | None,
        typer.Option(
            help="With --engine spark: the folder or bucket URI records are staged in for "
            "the cluster's executors. Default: CASELINE_SPARK_STAGING.",
        ),
    ] = None,
) -> None:
    """Resolve all ingested records into persons (a model is trained unless --model is given)."""
    if incremental:
        _resolve_incrementally(engine, spark_master, spark_staging)
        return
    with workspace() as ws, progress() as bar:
        chosen = _engine(ws, engine, spark_master, spark_staging)
        task = bar.add_task("resolving", total=None)
        summary = resolve_persons(
            ws.database,
            models_dir=ws.settings.models_dir,
            threshold=ws.settings.match_threshold,
            engine=chosen,
            model_path=model,
            actor=ws.acting(),
            on_step=lambda step: bar.update(task, description=step),
        )
        bar.update(task, description="resolved", total=1, completed=1)
    console.print(
        f"{summary.records:,} records -> {summary.persons:,} persons "
        f"(threshold {ws.settings.match_threshold}); model: {summary.model_path}"
    )
    if summary.merges or summary.splits:
        console.print(
            f"since the last run: {summary.merges:,} persons merged, {summary.splits:,} split "
            "(listed as person events)"
        )


def _engine(ws: Workspace, name: str, master: str | None, staging: str | None) -> Engine:
    """The engine named, on the Spark cluster the options (else the settings) name."""
    if name != "spark" and (master or staging):
        option = "--spark-master" if master else "--spark-staging"
        raise InputError(f"only the Spark engine runs on a cluster, not {name!r}", where=option)
    return engine_named(
        name,
        spark_master=master or ws.settings.spark_master,
        spark_staging=staging or ws.settings.spark_staging,
    )


def _resolve_incrementally(engine: str, master: str | None, staging: str | None) -> None:
    with workspace() as ws, progress() as bar:
        chosen = _engine(ws, engine, master, staging)
        task = bar.add_task("placing new records", total=None)
        summary = resolve_incrementally(
            ws.database,
            models_dir=ws.settings.models_dir,
            threshold=ws.settings.match_threshold,
            engine=chosen,
            actor=ws.acting(),
            on_step=lambda step: bar.update(task, description=step),
        )
        bar.update(task, description="placed", total=1, completed=1)
    if summary.new_records == 0:
        console.print("no new records: every record already belongs to a person")
        return
    console.print(
        f"{summary.new_records:,} new records: {summary.joined_existing:,} joined existing "
        f"persons, {summary.new_persons:,} new persons (compared with "
        f"{summary.candidates:,} existing records)"
    )
