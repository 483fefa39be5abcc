"""`caseline ingest` and `caseline problems`: load source files, and see what they left out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from caseline.cli.app import Workspace, app, console, fail, progress, workspace
from caseline.errors import CaselineError
from caseline.ingest import IngestSummary, estimate_rows, ingest_file, list_problems, plan_ingest
from caseline.oversight import Actor
from caseline.sources import SourceAdapter


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Source files (CSV, TSV, JSONL, Parquet), or folders of <source> files."
        ),
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
    with workspace() as ws:
        plan = plan_ingest(paths, source, mapping)
        if not plan:
            fail("no source files found")
        actor = ws.acting()
        summaries, failures = [], []
        for path, adapter in plan:
            try:  # each file is its own transaction: one refused file does not stop the rest
                summaries.append(_ingest_one(ws, actor, path, adapter, encoding))
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


def _ingest_one(
    ws: Workspace, actor: Actor, path: Path, source: str | SourceAdapter, encoding: str
) -> IngestSummary:
    rows = estimate_rows(path)
    with progress() as bar:
        task = bar.add_task(f"ingesting {path.name}", total=rows)
        with ws.database.transaction() as session:
            summary = ingest_file(
                session,
                path,
                source,
                identifier_key=ws.settings.identifier_key,
                actor=actor,
                encoding=encoding,
                progress=lambda read: bar.update(task, completed=read),
            )
        bar.update(task, completed=rows)
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
    with workspace() as ws, ws.database.transaction() as session:
        found = list_problems(session, actor=ws.actor(session), file_contains=file, limit=limit)
    if not found:
        console.print("no problems recorded")
        return
    table = Table("file", "line", "field", "reason", "outcome", "row or value")
    for p in found:
        outcome = "row quarantined" if p.quarantined else "value left out"
        table.add_row(Path(p.file_name).name, str(p.line), p.field, p.reason, outcome, p.text[:80])
    console.print(table)
