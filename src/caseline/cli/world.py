"""`caseline generate`: a synthetic world with its ground truth."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from caseline.cli.app import app, console, date_option, progress
from caseline.config import load_settings
from caseline.files import keep_private
from caseline.synth import DEFAULT_REFERENCE_DATE, generate_world


class FileFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


@app.command()
def generate(
    persons: Annotated[int, typer.Option(min=1, help="How many persons to draw.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same world.")] = 1,
    out: Annotated[
        Path | None, typer.Option(help="Folder for the source files and the truth files.")
    ] = None,
    file_format: Annotated[
        FileFormat, typer.Option("--format", help="File format.")
    ] = FileFormat.CSV,
    as_of: Annotated[
        dt.date | None, date_option("Reference date of the world (default 2026-01-01).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Processes drawing chunks (default: one per core).")
    ] = None,
) -> None:
    """Generate a synthetic population, its six source files and the ground truth.

    Writes motor_vehicle, tax, utility, entry_exit, immigration_status and court files, and
    beside them truth (record -> person), persons, residences and statuses.
    """
    keep_private()
    out_dir = out or load_settings().home / "world"
    with progress() as bar:
        task = bar.add_task("generating persons", total=persons)
        summary = generate_world(
            persons,
            seed,
            out_dir,
            file_format=file_format.value,
            reference_date=as_of or DEFAULT_REFERENCE_DATE,
            workers=workers,
            progress=lambda n: bar.update(task, completed=n),
        )
    for source, count in summary.records_by_source.items():
        console.print(f"  {source:<20} {count:>11,} records -> {summary.source_files[source]}")
    console.print(f"  {'ground truth':<20} {'':>11}         -> {summary.truth_file}")
