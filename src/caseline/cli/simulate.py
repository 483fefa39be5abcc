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

from caseline.cases import (
    PolicySimulation,
    RedressSettings,
    Simulation,
    SimulationFigures,
    Thresholds,
    simulate_cases,
    simulate_under_policy,
)
from caseline.cli.app import app, console, date_option, fail, progress, workspace


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
DEFAULT_REDRESS = RedressSettings()
REDRESS_LABELS = {
    "persons_wrongly_targeted": "persons a case wrongly targets",
    "persons_filing": "  of them filing disputes",
    "persons_nothing_to_dispute": "  with nothing of the right kind to dispute",
    "disputes_filed": "disputes filed",
    "decided_before_action": "  decided before the action",
    "open_at_action": "  still open at the action",
    "filed_after_action": "  filed after the action",
    "upheld": "  upheld (the truth bears the claim out)",
    "rejected": "  rejected",
    "wrongful_actions_without_redress": "wrongful actions without redress (guards on)",
    "corrected_before_action": "  corrected before the action",
    "actioned_anyway": "  actioned anyway",
    "anyway_nothing_to_dispute": "    the person had nothing of the right kind to dispute",
    "anyway_did_not_file": "    the person did not dispute",
    "anyway_filed_after_action": "    disputed after the action",
    "anyway_open_at_action": "    the dispute was still open at the action",
    "anyway_decided_before_action": "    decided before the action, and acted on still",
    "newly_wrongful": "wrongful actions only with redress",
    "reconfirmed": "leads whose identity was confirmed again after a dispute",
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
    redress_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="The share of wrongly targeted persons who dispute their case (0: no redress).",
        ),
    ] = DEFAULT_REDRESS.rate,
    redress_seed: Annotated[
        int, typer.Option(help="The seed of who disputes and when.")
    ] = DEFAULT_REDRESS.seed,
    days_to_action: Annotated[
        int, typer.Option(min=0, help="Days from a case's opening to its action.")
    ] = DEFAULT_REDRESS.days_to_action,
    policy: Annotated[
        str | None,
        typer.Option(
            help="Work the leads in the order of this priority policy version ('in-force': "
            "the one in force) and report each naming group's shares (needs a generated "
            "world's persons.csv).",
        ),
    ] = None,
    capacity: Annotated[
        int | None, typer.Option(min=1, help="With --policy: work only the policy's first N.")
    ] = None,
) -> None:
    """Count wrongful actions per 1,000 leads: a simulated hurried analyst works each lead
    (searches its name, takes the top profile, proposes each step as soon as allowed, acts at
    the top address), with the server's guards and without; and with the guards, again after
    the persons wrongly targeted dispute their cases (redress). Writes nothing but one audit
    event; the last line is JSON."""
    if policy is not None:
        _simulate_policy(truth_records, truth_persons, as_of, policy, capacity)
        return
    redress = RedressSettings(redress_rate, redress_seed, days_to_action)
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
                redress=None if guards is GuardSetting.OFF else redress,
            )
    shown = {"guards on": result.on, "guards off": result.off}
    if guards is not GuardSetting.BOTH:
        shown = {f"guards {guards.value}": shown[f"guards {guards.value}"]}
    if result.redress is not None:
        shown = {"guards on": result.on, "guards on + redress": result.redress.guards_on} | {
            k: v for k, v in shown.items() if k != "guards on"
        }
    _print_figures(result, shown, thresholds)
    if result.redress is not None:
        _print_redress(result)
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
    if "guards on" in shown and "guards off" in shown:
        console.print(
            f"of the truly actionable leads reaching their action without the guards, "
            f"{result.reach_kept:.1%} still do with them"
        )
        console.print(
            "targets (guards on): "
            + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in result.targets.items())
        )


def _print_redress(result: Simulation) -> None:
    redress = result.redress
    assert redress is not None
    settings = redress.settings
    console.print(
        f"redress: {settings.rate:.0%} of the persons a case wrongly targets dispute it, filing "
        f"after {settings.mean_days_to_file:g} days on average (seed {settings.seed}); a "
        f"reviewer decides {settings.days_to_decide} days later by the truth; the action "
        f"comes {settings.days_to_action} days after the case opened"
    )
    table = Table("redress (guards on)", "count")
    for name, label in REDRESS_LABELS.items():
        table.add_row(label, f"{redress.counts[name]:,}")
    console.print(table)
    kinds = Table("disputes by kind", "filed", "upheld", "rejected")
    for kind, counts in redress.by_kind.items():
        kinds.add_row(kind, *(f"{counts[n]:,}" for n in ("filed", "upheld", "rejected")))
    if kinds.row_count:
        console.print(kinds)


def _simulate_policy(
    truth_records: Path, truth_persons: Path, as_of: dt.date, policy: str, capacity: int | None
) -> None:
    """Per naming group: the shares of the population, the truly actionable, and the persons
    who became leads, were worked, actioned and wrongly actioned under a policy version."""
    if policy != "in-force" and not policy.isdigit():
        fail(f"--policy is a version number or 'in-force', not {policy!r}")
    with workspace() as ws, ws.database.transaction() as session:
        result = simulate_under_policy(
            session, truth_records=truth_records, truth_persons=truth_persons, as_of=as_of,
            thresholds=Thresholds.of(ws.settings), actor=ws.actor(session),
            version=None if policy == "in-force" else int(policy), capacity=capacity,
        )  # fmt: skip
    _print_groups(result)
    typer.echo(json.dumps(result.as_dict(), sort_keys=True))


def _print_groups(result: PolicySimulation) -> None:
    named = f"v{result.version}" if result.version is not None else "the shipped default"
    worked = "every lead" if result.capacity is None else f"the first {result.capacity} leads"
    day = result.simulation.as_of
    console.print(f"policy {named} ({result.policy}), {worked}, guards on, on {day}")
    columns = ("population", "actionable", "leads", "worked", "actioned", "wrongly_actioned")
    table = Table("naming group", *(c.replace("_", " ") for c in columns))
    for g in result.groups:
        table.add_row(g.group, *(f"{g.shares[c]:.1%} ({g.counts[c]:,})" for c in columns))
    table.add_row("all", *(f"{result.totals[c]:,}" for c in columns))
    console.print(table)
