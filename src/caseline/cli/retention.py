"""`caseline retention`: what is past its source's period, purged on request, and the persons
and cases each purge flagged."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.table import Table

from caseline.cases import (
    RetentionPreview,
    apply_retention,
    list_retention_flags,
    preview_retention,
)
from caseline.cli.app import app, console, date_option, workspace

retention_app = typer.Typer(
    help="Retention: preview and apply each source's period; list what purges flagged.",
    no_args_is_help=True,
)
app.add_typer(retention_app, name="retention")

AS_OF_HELP = "The day the periods are counted back from (today)."


@retention_app.command("show")
def retention_show(
    as_of: Annotated[dt.date | None, date_option(AS_OF_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print it as JSON.")] = False,
) -> None:
    """What a purge on the day would remove, per source, and the persons and open cases
    that depend on it (audited; changes nothing)."""
    with workspace() as ws, ws.database.transaction() as session:
        preview = preview_retention(
            session,
            ws.actor(session),
            periods=ws.settings.retention_days,
            as_of=as_of or dt.date.today(),
        )
    if as_json:
        typer.echo(json.dumps(_as_json(preview), indent=2))
        return
    _show(preview)


@retention_app.command("apply")
def retention_apply(
    as_of: Annotated[dt.date | None, date_option(AS_OF_HELP)] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Purge without asking.")] = False,
) -> None:
    """Purge what is past its period, in one transaction, flag the persons who lost records
    and their open cases, and audit the counts per source."""
    day = as_of or dt.date.today()
    expected = None
    with workspace() as ws:
        if not yes:
            with ws.database.transaction() as session:
                preview = preview_retention(
                    session, ws.actor(session), periods=ws.settings.retention_days, as_of=day
                )
            _show(preview)
            if preview.records == 0:
                console.print("Nothing is past its period: nothing to purge.")
                return
            if not typer.confirm(f"Purge {preview.records:,} records for good?", err=True):
                console.print("Nothing purged.")
                raise typer.Exit(1)
            expected = preview.records  # refused if what is past changed meanwhile
        with ws.database.transaction() as session:
            run = apply_retention(
                session,
                ws.actor(session),
                periods=ws.settings.retention_days,
                as_of=day,
                expected_records=expected,
            )
    purged = run.purged
    console.print(
        f"Run {run.run_id}: {purged.records:,} records purged "
        f"({', '.join(f'{s.source} {s.records:,}' for s in purged.sources) or 'no source'}), "
        f"{purged.held:,} held by disputes; {len(purged.persons):,} persons flagged "
        f"({run.persons_removed:,} removed), {len(purged.cases):,} open cases flagged.",
        soft_wrap=True,
    )


@retention_app.command("flags")
def retention_flags(
    run: Annotated[str | None, typer.Option(help="Only this purge's flags.")] = None,
    person: Annotated[str | None, typer.Option(help="Only this person's.")] = None,
) -> None:
    """The persons and open cases purges flagged, newest first (audited)."""
    with workspace() as ws, ws.database.transaction() as session:
        found = list_retention_flags(session, ws.actor(session), run_id=run, person_id=person)
    table = Table("run", "applied", "by", "as of", "person", "case", "lost", "left", "sources")
    for flag in found:
        table.add_row(
            flag.run_id,
            f"{flag.applied_at:%Y-%m-%d %H:%M}",
            flag.applied_by,
            flag.as_of.isoformat(),
            flag.person_id,
            str(flag.case_id or ""),
            str(flag.records_lost),
            str(flag.records_left),
            ", ".join(f"{s} {n}" for s, n in flag.sources.items()),
        )
    console.print(table)
    console.print(f"{len(found):,} flags")


def _show(preview: RetentionPreview) -> None:
    table = Table("source", "kept (days)", "cut-off", "past, to purge", "held by disputes")
    for s in preview.sources:
        table.add_row(s.source, f"{s.days:,}", s.cutoff.isoformat(), f"{s.records:,}",
                      f"{s.held:,}")  # fmt: skip
    console.print(table)
    if not preview.sources:
        console.print("No source has a retention period (CASELINE_RETENTION_DAYS): all kept.")
    console.print(
        f"As of {preview.as_of}: {preview.records:,} records; with them "
        f"{preview.link_decisions:,} link decisions, {preview.disputes:,} decided disputes, "
        f"{preview.value_issues:,} left-out values, {preview.quarantined_rows:,} quarantined "
        f"rows. {len(preview.persons):,} persons lose records "
        f"({sum(1 for p in preview.persons if p.records_left == 0):,} lose all); "
        f"open cases on them: {', '.join(map(str, preview.cases)) or 'none'}.",
        soft_wrap=True,
    )


def _as_json(preview: RetentionPreview) -> dict[str, object]:
    return {
        "as_of": preview.as_of.isoformat(),
        "sources": [
            {
                "source": s.source,
                "days": s.days,
                "cutoff": s.cutoff.isoformat(),
                "records": s.records,
                "held": s.held,
            }
            for s in preview.sources
        ],
        "link_decisions": preview.link_decisions,
        "disputes": preview.disputes,
        "value_issues": preview.value_issues,
        "quarantined_rows": preview.quarantined_rows,
        "persons": [
            {
                "person_id": p.person_id,
                "records_lost": p.records_lost,
                "records_left": p.records_left,
                "sources": p.sources,
                "open_cases": list(p.open_cases),
            }
            for p in preview.persons
        ],
        "cases": list(preview.cases),
    }
