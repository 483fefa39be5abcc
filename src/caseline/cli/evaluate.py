"""`caseline evaluate` and `caseline evaluate addresses`: the current persons, and address
confidence, measured against ground truth. The last line each prints is JSON, or, with
``--json FILE``, the file it went to."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from caseline.cli.app import app, console, date_option, fail, progress, workspace
from caseline.profiles import (
    SMALL_GROUP_PERSONS,
    AddressEvaluation,
    evaluate_addresses,
    load_address_model,
    write_reliability_diagram,
)
from caseline.resolve import PairwiseScores, evaluate_resolution

evaluate_app = typer.Typer(
    help="Measure the current persons (or, with `addresses`, address confidence) against truth.",
    invoke_without_command=True,
)
app.add_typer(evaluate_app, name="evaluate")
JSON_OPTION = typer.Option(
    "--json", help="Write the figures as JSON to this file instead of printing them."
)


@evaluate_app.callback()
def evaluate(
    ctx: typer.Context,
    truth: Annotated[
        Path | None, typer.Option(help="CSV with source, source_key, entity_id[, group].")
    ] = None,
    json_out: Annotated[Path | None, JSON_OPTION] = None,
) -> None:
    """Pairwise and B-cubed scores of the current persons, per group; the last line is JSON."""
    if ctx.invoked_subcommand is not None:
        return
    if truth is None:
        fail("--truth FILE is needed (or a subcommand: addresses)")
    evaluate_persons(truth, json_out)


def evaluate_persons(truth: Path, json_out: Path | None = None) -> None:
    with workspace() as ws, ws.database.transaction() as session:
        scores = evaluate_resolution(session, truth, actor=ws.actor(session))
    _print_person_scores(scores)
    _emit(scores.as_dict(), json_out)


def _emit(figures: dict[str, object], json_out: Path | None) -> None:
    """The figures as JSON: the last line printed, or a file (its path printed)."""
    text = json.dumps(figures, sort_keys=True)
    if json_out is None:
        typer.echo(text)
        return
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(text + "\n", encoding="utf-8")
    console.print(f"figures (JSON): {json_out}")


def _print_person_scores(scores: PairwiseScores) -> None:
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


@evaluate_app.command("addresses")
def evaluate_addresses_command(
    truth: Annotated[Path, typer.Option(help="CSV with source, source_key, entity_id[, group].")],
    current: Annotated[Path, typer.Option(help="CSV with entity_id and address (one string).")],
    as_of: Annotated[dt.date, date_option("Date the current addresses are true on.")],
    plot: Annotated[
        Path | None, typer.Option(help="Where to write the reliability diagram (PNG).")
    ] = None,
    json_out: Annotated[Path | None, JSON_OPTION] = None,
) -> None:
    """Top-1 accuracy, Brier score and calibration of address confidence beside two rules
    (most recent record wins, most records win) and the ceiling; the last line is JSON."""
    with workspace() as ws:
        model = load_address_model()
        with progress() as bar:
            task = bar.add_task("scoring addresses", total=None)
            with ws.database.transaction() as session:
                result = evaluate_addresses(
                    session,
                    truth_path=truth,
                    current_path=current,
                    as_of=as_of,
                    model=model,
                    actor=ws.actor(session),
                )
            bar.update(task, description="scored", total=1, completed=1)
        default_plot = ws.settings.home / "reports" / f"address-reliability-{as_of}.png"
        diagram = write_reliability_diagram(result, plot or default_plot)
    _print_address_table(result)
    for where in result.unreadable_addresses[:5]:
        console.print(f"[yellow]left out[/yellow] {where}")
    missed_by = {
        "no_group_below_most_recent": result.groups_below_most_recent,
        "ece_at_most_0.03": [
            name
            for name, g in [("all", result.overall), *sorted(result.by_group.items())]
            if g.methods["caseline"].ece > 0.03
        ],
    }
    targets = ", ".join(
        f"{name}: met"
        if met
        else f"{name}: NOT met"
        + (f" ({', '.join(missed_by[name])})" if missed_by.get(name) else "")
        for name, met in result.targets.items()
    )
    console.print(
        f"ceiling {result.overall.ceiling:.4f}; gap to the ceiling closed {result.gap_closed:.1%}; "
        f"{targets}; reliability diagram: {diagram}"
    )
    small = result.small_groups
    if small:
        console.print(
            f"[yellow]note:[/yellow] {', '.join(small)} ha{'s' if len(small) == 1 else 've'} "
            f"fewer than {SMALL_GROUP_PERSONS:,} persons; their ECE is mostly sampling noise"
        )
    trained = ", ".join(f"{k} {v}" for k, v in sorted(model.trained_on.items()) if k != "log_loss")
    console.print(f"address model {model.version}, fitted on {trained or 'unrecorded data'}")
    figures = result.as_dict() | {
        "model": {"version": model.version, "trained_on": model.trained_on}
    }
    _emit(figures, json_out)


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
