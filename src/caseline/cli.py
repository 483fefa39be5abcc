"""The command line: generate, ingest, resolve, evaluate, serve, demo, users, audit.

Commands parse arguments, call one package entry point and print the result; no logic here.
Exit codes: 0 success; 1 finished but something needs attention (rows quarantined, audit
chain broken); 2 the input or the workspace could not be used (the message says where and why).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pyarrow.parquet as pq
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
from rich.table import Table

from caseline.config import Settings, load_settings
from caseline.db import Database, upgrade_to_head
from caseline.errors import CaselineError
from caseline.ingest import IngestSummary, ingest_file, list_problems
from caseline.oversight import Actor, Role, create_user, user_exists, verify_chain
from caseline.profiles.address_evaluation import AddressEvaluation, evaluate_addresses
from caseline.profiles.address_model import load_address_model
from caseline.profiles.address_plot import write_reliability_diagram
from caseline.profiles.export_ftm import export_ftm
from caseline.resolve import evaluate_resolution, resolve_incrementally, resolve_persons
from caseline.sources import SOURCES, SourceAdapter
from caseline.sources.mapped import MappedSource, load_mapping
from caseline.synth import DEFAULT_REFERENCE_DATE, generate_world

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
users_app = typer.Typer(help="Manage who may sign in.", no_args_is_help=True)
audit_app = typer.Typer(help="Inspect the audit trail.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
# Tables stay readable when stderr is a file or a pipe (Rich would wrap at 80 columns).
console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

DEMO_USER = "analyst"
DEMO_PASSWORD = "caseline-demo"  # noqa: S105 - printed to the person running the local demo


class FileFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


def _cli_actor() -> Actor:
    """Who acts from the command line: the operating-system user, as a data engineer."""
    return Actor(f"cli:{getpass.getuser()}", Role.DATA_ENGINEER)


@contextmanager
def _workspace() -> Iterator[tuple[Settings, Database]]:
    """Settings and a migrated database; Caseline errors become a clear message and exit 2."""
    try:
        settings = load_settings()
        upgrade_to_head(settings.resolved_database_url)
        database = Database(settings.resolved_database_url)
        try:
            yield settings, database
        finally:
            database.dispose()
    except CaselineError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


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
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="Reference date of the world (default 2026-01-01)."
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Processes drawing chunks (default: one per core).")
    ] = None,
) -> None:
    """Generate a synthetic population, its six source files and the ground truth.

    Writes motor_vehicle, tax, utility, entry_exit, immigration_status and court files, and
    beside them truth (record -> person), persons, residences and statuses.
    """
    out_dir = out or load_settings().home / "world"
    reference_date = as_of.date() if as_of else DEFAULT_REFERENCE_DATE
    with _progress() as progress:
        task = progress.add_task("generating persons", total=persons)
        summary = generate_world(
            persons,
            seed,
            out_dir,
            file_format=file_format.value,
            reference_date=reference_date,
            workers=workers,
            progress=lambda n: progress.update(task, completed=n),
        )
    for source, count in summary.records_by_source.items():
        console.print(f"  {source:<20} {count:>11,} records -> {summary.source_files[source]}")
    console.print(f"  {'ground truth':<20} {'':>11}         -> {summary.truth_file}")


def _ingest_plan(
    paths: list[Path], source: str | None, mapping: Path | None
) -> list[tuple[Path, str | SourceAdapter]]:
    """(file, source) pairs: a folder contributes its <source>.csv/.jsonl/.parquet files."""
    if mapping is not None:
        adapter = MappedSource(load_mapping(mapping))
        return [(path, adapter) for path in paths]
    chosen: list[tuple[Path, str | SourceAdapter]] = []
    for path in paths:
        if path.is_dir():
            chosen += [
                (path / f"{name}{suffix}", name)
                for name in SOURCES
                for suffix in (".csv", ".tsv", ".jsonl", ".parquet")
                if (path / f"{name}{suffix}").is_file()
            ]
        else:
            chosen.append((path, source or path.stem))
    return chosen


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Source files (CSV, JSONL, Parquet), or folders of <source> files."),
    ],
    source: Annotated[
        str | None, typer.Option(help="Source of the files (default: the file name).")
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            help="YAML mapping of the files' columns to canonical fields (docs/mapping.md)."
        ),
    ] = None,
    encoding: Annotated[
        str, typer.Option(help="Text encoding of CSV and JSONL files, e.g. latin-1.")
    ] = "utf-8-sig",
) -> None:
    """Load source files into the record store.

    A row that cannot be a record goes to quarantine with file, line, field and reason; a value
    that does not parse is left out of its record, with the reason. Re-ingesting a file
    already loaded changes nothing. Exit 0: all rows loaded; 1: some rows quarantined; 2: a
    file, or the mapping, could not be used (nothing of that file was loaded).
    """
    with _workspace() as (settings, database):
        plan = _ingest_plan(paths, source, mapping)
        if not plan:
            console.print("[red]error:[/red] no source files found")
            raise typer.Exit(2)
        summaries, failures = [], []
        for path, adapter in plan:
            try:  # each file is its own transaction: one refused file does not stop the rest
                summaries.append(_ingest_one(database, settings, path, adapter, encoding))
            except CaselineError as exc:
                failures.append(str(exc))
        if summaries:
            _print_ingest(summaries)
        for failure in failures:
            console.print(f"[red]error:[/red] {failure} (nothing of this file was loaded)",
                          soft_wrap=True)  # fmt: skip
        if failures:
            raise typer.Exit(2)
        if any(s.quarantined for s in summaries):
            raise typer.Exit(1)


def _row_estimate(path: Path) -> int:
    """Rows in a file, for the progress bar (lines for text files, metadata for Parquet)."""
    if not path.is_file():
        return 0
    if path.suffix.lower() == ".parquet":
        with suppress(Exception):  # an unreadable file is reported by ingest itself
            return int(pq.ParquetFile(path).metadata.num_rows)
        return 0
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def _ingest_one(
    database: Database, settings: Settings, path: Path, source: str | SourceAdapter, encoding: str
) -> IngestSummary:
    lines = _row_estimate(path)
    with _progress() as progress:
        task = progress.add_task(f"ingesting {path.name}", total=lines)
        with database.transaction() as session:
            summary = ingest_file(
                session,
                path,
                source,
                identifier_key=settings.identifier_key,
                actor=_cli_actor(),
                encoding=encoding,
                progress=lambda line: progress.update(task, completed=line - 1),
            )
        progress.update(task, completed=lines)
    return summary


def _print_ingest(summaries: list[IngestSummary]) -> None:
    table = Table("file", "source", "loaded", "quarantined", "values left out", "status")
    for s in summaries:
        status = "already ingested, skipped" if s.already_ingested else "loaded"
        table.add_row(
            s.file_name,
            s.source,
            f"{s.loaded:,}",
            f"{s.quarantined:,}",
            f"{s.value_issues:,}",
            status,
        )
    console.print(table)
    for s in summaries:
        if s.examples:
            console.print(f"{s.file_name}: the first problems", soft_wrap=True)
            for problem in s.examples:
                console.print(f"  {problem}", soft_wrap=True, markup=False)


@app.command()
def problems(
    file: Annotated[
        str | None, typer.Option(help="Only files whose name contains this text.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
) -> None:
    """List what ingest could not use: quarantined rows and values left out, with their
    file, line, field and reason (raw rows may hold personal data: the read is audited)."""
    with _workspace() as (_settings, database), database.transaction() as session:
        found = list_problems(session, actor=_cli_actor(), file_contains=file, limit=limit)
    if not found:
        console.print("no problems recorded")
        return
    table = Table("file", "line", "field", "reason", "outcome", "row or value")
    for p in found:
        outcome = "row quarantined" if p.quarantined else "value left out"
        table.add_row(Path(p.file_name).name, str(p.line), p.field, p.reason, outcome, p.text[:80])
    console.print(table)


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
) -> None:
    """Resolve all ingested records into persons (a model is trained unless --model is given)."""
    if incremental:
        _resolve_incrementally(engine)
        return
    with _workspace() as (settings, database), _progress() as progress:
        task = progress.add_task("resolving", total=None)
        summary = resolve_persons(
            database,
            models_dir=settings.models_dir,
            threshold=settings.match_threshold,
            engine=engine,
            model_path=model,
            actor=_cli_actor(),
            on_step=lambda step: progress.update(task, description=step),
        )
        progress.update(task, description="resolved", total=1, completed=1)
    console.print(
        f"{summary.records:,} records -> {summary.persons:,} persons "
        f"(threshold {settings.match_threshold}); model: {summary.model_path}"
    )
    if summary.merges or summary.splits:
        console.print(
            f"since the last run: {summary.merges:,} persons merged, {summary.splits:,} split "
            "(listed as person events)"
        )


def _resolve_incrementally(engine: str) -> None:
    with _workspace() as (settings, database), _progress() as progress:
        task = progress.add_task("placing new records", total=None)
        summary = resolve_incrementally(
            database,
            models_dir=settings.models_dir,
            threshold=settings.match_threshold,
            engine=engine,
            actor=_cli_actor(),
            on_step=lambda step: progress.update(task, description=step),
        )
        progress.update(task, description="placed", total=1, completed=1)
    if summary.new_records == 0:
        console.print("no new records: every record already belongs to a person")
        return
    console.print(
        f"{summary.new_records:,} new records: {summary.joined_existing:,} joined existing "
        f"persons, {summary.new_persons:,} new persons (compared with "
        f"{summary.candidates:,} existing records)"
    )


evaluate_app = typer.Typer(
    help="Measure the current persons (or, with `addresses`, address confidence) against truth.",
    invoke_without_command=True,
)
app.add_typer(evaluate_app, name="evaluate")


@evaluate_app.callback()
def evaluate(
    ctx: typer.Context,
    truth: Annotated[
        Path | None, typer.Option(help="CSV with source, source_key, entity_id[, group].")
    ] = None,
) -> None:
    """Pairwise and B-cubed scores of the current persons, per group; the last line is JSON."""
    if ctx.invoked_subcommand is not None:
        return
    if truth is None:
        console.print("[red]error:[/red] --truth FILE is needed (or a subcommand: addresses)")
        raise typer.Exit(2)
    _evaluate_persons(truth)


def _evaluate_persons(truth: Path) -> None:
    with _workspace() as (_settings, database), database.transaction() as session:
        scores = evaluate_resolution(session, truth)
    table = Table(
        "group",
        "precision",
        "recall",
        "F1",
        "B-cubed F1",
        "records",
        "largest person",
        "largest entity",
    )
    for group, s in [("all", scores), *sorted(scores.by_group.items())]:
        table.add_row(
            group,
            f"{s.precision:.4f}",
            f"{s.recall:.4f}",
            f"{s.f1:.4f}",
            f"{s.bcubed_f1:.4f}",
            f"{s.records:,}",
            f"{s.largest_person:,}",
            f"{s.largest_true_entity:,}",
        )
    console.print(table)
    if any(band.persons for band in scores.assurance_bands):
        bands = Table("identity assurance", "persons (2+ records)", "pure")
        for band in scores.assurance_bands:
            bands.add_row(band.label, f"{band.persons:,}", f"{band.purity:.4f}")
        console.print(bands)
    typer.echo(json.dumps(scores.as_dict(), sort_keys=True))


SMALL_GROUP = 1000  # persons below which a group's calibration error is mostly noise


@evaluate_app.command("addresses")
def evaluate_addresses_command(
    truth: Annotated[Path, typer.Option(help="CSV with source, source_key, entity_id[, group].")],
    current: Annotated[Path, typer.Option(help="CSV with entity_id and address (one string).")],
    as_of: Annotated[
        str, typer.Option(help="Reference date (YYYY-MM-DD) the current addresses are true on.")
    ],
    plot: Annotated[
        Path | None, typer.Option(help="Where to write the reliability diagram (PNG).")
    ] = None,
) -> None:
    """Top-1 accuracy, Brier score and calibration of address confidence beside two rules
    (most recent record wins, most records win) and the ceiling; the last line is JSON."""
    reference = _date_option(as_of, "--as-of")
    with _workspace() as (settings, database):
        model = load_address_model()
        with _progress() as progress:
            task = progress.add_task("scoring addresses", total=None)
            with database.transaction() as session:
                result = evaluate_addresses(
                    session,
                    truth_path=truth,
                    current_path=current,
                    as_of=reference,
                    model=model,
                    actor=_cli_actor(),
                )
            progress.update(task, description="scored", total=1, completed=1)
        diagram = write_reliability_diagram(
            result, plot or settings.home / "reports" / f"address-reliability-{reference}.png"
        )
    _print_address_table(result)
    for where in result.unreadable_addresses[:5]:
        console.print(f"[yellow]left out[/yellow] {where}")
    targets = ", ".join(
        f"{name}: {'met' if met else 'NOT met'}" for name, met in result.targets.items()
    )
    console.print(
        f"ceiling {result.overall.ceiling:.4f}; gap to the ceiling closed {result.gap_closed:.1%}; "
        f"{targets}; reliability diagram: {diagram}"
    )
    small = sorted(name for name, g in result.by_group.items() if g.persons < SMALL_GROUP)
    if small:
        console.print(
            f"[yellow]note:[/yellow] {', '.join(small)} ha{'s' if len(small) == 1 else 've'} "
            f"fewer than {SMALL_GROUP:,} persons; their ECE is mostly sampling noise"
        )
    typer.echo(json.dumps(result.as_dict(), sort_keys=True))


def _print_address_table(result: AddressEvaluation) -> None:
    table = Table("group", "persons", "ceiling", "method", "top-1", "Brier", "ECE")
    for group, scores in [("all", result.overall), *sorted(result.by_group.items())]:
        for index, (method, s) in enumerate(scores.methods.items()):
            table.add_row(
                group if index == 0 else "",
                f"{scores.persons:,}" if index == 0 else "",
                f"{scores.ceiling:.4f}" if index == 0 else "",
                method,
                f"{s.top1_accuracy:.4f}",
                f"{s.brier:.4f}",
                f"{s.ece:.4f}",
            )
    console.print(table)


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
        str | None, typer.Option(help="Date address confidence is for (YYYY-MM-DD; today).")
    ] = None,
) -> None:
    """Export every person and address (with confidence and evidence) for other tools."""
    reference = _date_option(as_of, "--as-of") if as_of else dt.date.today()
    with _workspace() as (_settings, database), _progress() as progress:
        task = progress.add_task(f"exporting {export_format.value}", total=None)
        with database.transaction() as session:
            summary = export_ftm(
                session,
                out,
                actor=_cli_actor(),
                purpose=purpose,
                as_of=reference,
                model=load_address_model(),
            )
        progress.update(task, description="exported", total=1, completed=1)
    console.print(
        f"{summary.persons:,} persons and {summary.addresses:,} addresses -> {summary.path}"
    )


def _date_option(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        console.print(f"[red]error:[/red] {option} {value!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web UI and the API (OpenAPI document at /openapi.json)."""
    import uvicorn

    from caseline.server import create_app

    with _workspace() as (settings, database):
        console.print(f"Caseline at http://{host}:{port}/  (API: /api, spec: /openapi.json)")
        uvicorn.run(create_app(settings, database), host=host, port=port, log_level="warning")


@app.command()
def demo(
    persons: Annotated[int, typer.Option(min=10, help="How many persons to draw.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
) -> None:
    """Generate, ingest, resolve and evaluate a small world, then serve it on 127.0.0.1."""
    settings = load_settings()
    world = settings.home / "world"
    generate(persons=persons, seed=seed, out=world)
    try:
        ingest([world], source=None)
    except typer.Exit as exit_:
        if exit_.exit_code == 2:
            raise
    resolve(engine="duckdb", model=None)
    _evaluate_persons(world / "truth.csv")
    evaluate_addresses_command(
        truth=world / "truth.csv",
        current=world / "persons.csv",
        as_of=DEFAULT_REFERENCE_DATE.isoformat(),
        plot=None,
    )
    with _workspace() as (_, database), database.transaction() as session:
        if not user_exists(session, DEMO_USER):  # made by an earlier demo run
            create_user(session, DEMO_USER, Role.ANALYST, DEMO_PASSWORD, actor=_cli_actor())
    console.print(f"Sign in as [bold]{DEMO_USER}[/bold] with password [bold]{DEMO_PASSWORD}[/bold]")
    serve(host="127.0.0.1", port=port)


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Name to sign in with.")],
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Add a user who can sign in to the web UI and the API."""
    with _workspace() as (_settings, database), database.transaction() as session:
        create_user(session, username, role, password, actor=_cli_actor())
    console.print(f"added {username} ({role.value})")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit hash chain; exit 1 and name the first broken event if tampered."""
    with _workspace() as (_settings, database), database.transaction() as session:
        report = verify_chain(session)
    if report.intact:
        console.print(f"audit chain intact: {report.events_checked:,} events")
        return
    console.print(
        f"[red]audit chain broken[/red] at event {report.first_broken_seq}: {report.reason}"
    )
    raise typer.Exit(1)


if __name__ == "__main__":
    app()
