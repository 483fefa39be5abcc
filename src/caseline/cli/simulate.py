"""`caseline simulate`: a hurried analyst works every lead with the guards on and off, and
each action is counted against the ground truth. The last line printed is JSON."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from caseline.cases import Simulation, SimulationFigures, Thresholds, simulate_cases
from caseline.cli.app import app, console, date_option, progress, workspace


class GuardSetting(StrEnum):
    ON = "on"
    OFF = "off"
    BOTH = "both"


LABELS = {
    "actions": "actions taken",
    "right_person_right_address": "  right person, right address",
    "wrong_person": "  against the wrong person",
    "protected": "  against a citizen, resident or protected person",
    "wrong_address": "  at a wrong address",
    "wrongful": "  wrongful (any of the three above)",
    "stopped": "leads stopped by a guard",
    "rightly_stopped": "  rightly stopped",
    "no_profile": "leads whose name search found no one",
    "no_address": "leads with no address to act at",
    "actionable": "truly actionable leads",
    "actionable_reached": "  of them reaching an action against their person",
}


@app.command()
def simulate(
    truth_records: Annotated[
        Path, typer.Option(help="CSV with source, source_key, entity_id: each record's person.")
    ],
    truth_persons: Annotated[
        Path,
        typer.Option(help="CSV with entity_id, status, current_address on the as-of date."),
    ],
    as_of: Annotated[dt.date, date_option("The day the leads are worked and the truth holds.")],
    guards: Annotated[
        GuardSetting, typer.Option(help="Count with the guards on, off, or both side by side.")
    ] = GuardSetting.BOTH,
    leads: Annotated[
        int | None, typer.Option(min=1, help="Work a deterministic sample of this many leads.")
    ] = None,
) -> None:
    """Count wrongful actions per 1,000 leads: a simulated hurried analyst works each lead
    (searches its name, takes the top profile, proposes each step as soon as allowed, acts at
    the top address), with the server's guards and without. Writes nothing but one audit
    event; the last line is JSON."""
    with workspace() as ws:
        thresholds = Thresholds.of(ws.settings)
        with progress() as bar, ws.database.transaction() as session:
            task = bar.add_task("finding leads, reading persons", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, description="working the leads", completed=done, total=total)

            result = simulate_cases(
                session,
                truth_records=truth_records,
                truth_persons=truth_persons,
                as_of=as_of,
                thresholds=thresholds,
                actor=ws.actor(session),
                leads=leads,
                progress=advance,
            )
    shown = {"guards on": result.on, "guards off": result.off}
    if guards is not GuardSetting.BOTH:
        shown = {f"guards {guards.value}": shown[f"guards {guards.value}"]}
    _print_figures(result, shown, thresholds)
    figures = result.as_dict()
    if guards is not GuardSetting.BOTH:
        figures.pop("targets")
        figures.pop("guards_off" if guards is GuardSetting.ON else "guards_on")
    typer.echo(json.dumps(figures, sort_keys=True))


def _print_figures(
    result: Simulation, shown: dict[str, SimulationFigures], thresholds: Thresholds
) -> None:
    console.print(
        f"{len(result.worked):,} leads worked of {result.leads_found:,} found on {result.as_of} "
        f"(identity threshold {thresholds.identity}, address threshold {thresholds.address})"
    )
    table = Table("per 1,000 leads", *shown, *(f"{name} (count)" for name in shown))
    for name in LABELS:
        table.add_row(
            LABELS[name],
            *(f"{f.per_thousand(name):.1f}" for f in shown.values()),
            *(f"{f.counts[name]:,}" for f in shown.values()),
        )
    table.add_row(
        "share of actionable leads reaching their action",
        *(f"{f.actionable_reach:.1%}" for f in shown.values()),
        *("" for _ in shown),
    )
    console.print(table)
    stops = Table("stopped by", *shown)
    for guard in sorted({g for f in shown.values() for g in f.stopped_by}):
        stops.add_row(guard, *(f"{f.stopped_by.get(guard, 0):,}" for f in shown.values()))
    if stops.row_count:
        console.print(stops)
    if result.not_in_truth or result.without_status:
        console.print(
            f"[yellow]note:[/yellow] {result.not_in_truth:,} leads rest on records the truth "
            f"does not list (left out); {result.without_status:,} true persons are missing "
            "from the persons file (counted as neither protected nor actionable)"
        )
    if len(shown) == 2:
        console.print(
            f"of the truly actionable leads reaching their action without the guards, "
            f"{result.reach_kept:.1%} still do with them"
        )
        console.print(
            "targets (guards on): "
            + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in result.targets.items())
        )
