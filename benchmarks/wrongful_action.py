"""Wrongful actions per 1,000 leads, with the case guards on and off (issue 19).

    .venv/bin/python benchmarks/wrongful_action.py --persons 100000 --seed 1 --work /tmp/wrongful
    .venv/bin/python benchmarks/wrongful_action.py --persons 3000 --seed 3 --work /tmp/w3k

Generates a world of --persons persons into --work/world, ingests its six files into a SQLite
workspace under --work through `ingest_file` (one transaction per file), resolves it with
`resolve_persons`, all as a data engineer, then runs `simulate_cases` (what `caseline
simulate` runs): a hurried analyst works every lead with the guards on and off, counted
against the world's truth.csv and persons.csv. A stage whose output is already in --work is
reused (the world, the ingested files, the persons), so a second run only simulates; the
thresholds can be changed to see what they do (--identity-threshold, --address-threshold).

Prints the time of each stage, both settings side by side per 1,000 leads with the counts,
the leads stopped by each guard, what the guards let through (by lead rule and true status),
and the issue's targets; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from caseline.cases import Simulation, Thresholds, simulate_cases
from caseline.cases.ground_truth import read_true_persons
from caseline.cases.simulation import Outcome
from caseline.config import load_settings
from caseline.db import Database, upgrade_to_head
from caseline.ingest import ingest_file
from caseline.oversight import Actor, Role
from caseline.resolve import resolve_persons
from caseline.sources import SOURCES
from caseline.synth import DEFAULT_REFERENCE_DATE, generate_world

OPERATOR = Actor("benchmark", Role.DATA_ENGINEER)
console = Console(highlight=False, soft_wrap=True)


def prepare(work: Path, persons: int, seed: int) -> tuple[Database, dict[str, float]]:
    """The resolved workspace under ``work``, making each missing stage; seconds per stage."""
    world, home = work / "world", work / "workspace"
    home.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{home / 'caseline.db'}"
    upgrade_to_head(url)
    settings = load_settings(home=home, database_url=url)
    database = Database(url)
    seconds: dict[str, float] = {}
    done = work / "stages.json"
    made = json.loads(done.read_text()) if done.is_file() else {}
    wanted = {"persons": persons, "seed": seed}
    if made.get("world") not in (None, wanted):
        raise SystemExit(f"{work} holds a world of {made['world']}; use another --work")
    if "world" not in made:
        start = time.perf_counter()
        generate_world(persons, seed, world)
        made["world"], seconds["generate"] = wanted, time.perf_counter() - start
        done.write_text(json.dumps(made))
    if "ingested" not in made:
        start = time.perf_counter()
        for source in SOURCES:
            path = world / f"{source}.csv"
            with database.transaction() as session:
                summary = ingest_file(
                    session, path, source, identifier_key=settings.identifier_key, actor=OPERATOR
                )
            console.print(f"  ingested {path.name}: {summary.loaded:,} records")
        made["ingested"], seconds["ingest"] = True, time.perf_counter() - start
        done.write_text(json.dumps(made))
    if "resolved" not in made:
        start = time.perf_counter()
        resolved = resolve_persons(
            database, models_dir=settings.models_dir, threshold=settings.match_threshold,
            actor=OPERATOR, on_step=lambda step: console.print(f"  resolve: {step}"),
        )  # fmt: skip
        console.print(f"  {resolved.records:,} records into {resolved.persons:,} persons")
        made["resolved"], seconds["resolve"] = True, time.perf_counter() - start
        done.write_text(json.dumps(made))
    return database, seconds


def print_figures(result: Simulation) -> None:
    table = Table("per 1,000 leads", "guards on", "guards off", "on (count)", "off (count)")
    for name in result.on.counts:
        if name != "leads":
            table.add_row(
                name,
                f"{result.on.per_thousand(name):.1f}",
                f"{result.off.per_thousand(name):.1f}",
                f"{result.on.counts[name]:,}",
                f"{result.off.counts[name]:,}",
            )
    table.add_row(
        "actionable_reach", f"{result.on.actionable_reach:.1%}",
        f"{result.off.actionable_reach:.1%}", "", "",
    )  # fmt: skip
    console.print(table)
    stops = Table("stopped by (guards on)", "leads", "at step")
    for guard, count in sorted(result.on.stopped_by.items()):
        stops.add_row(guard, f"{count:,}", "")
    for step, count in sorted(result.on.stopped_at.items()):
        stops.add_row("", f"{count:,}", step)
    console.print(stops)


def analyse(result: Simulation, persons_path: Path) -> dict[str, Any]:
    """What the guards let through and what they stop wrongly, by lead rule and true status."""
    truth = read_true_persons(persons_path)

    def status(entity: str | None) -> str:
        found = truth.get(entity or "")
        return found.status if found else "unknown"

    through: Counter[str] = Counter()
    wrongly_stopped: Counter[str] = Counter()
    for w in result.worked:
        if w.on.outcome is Outcome.ACTED and w.wrongful:
            harm = "+".join(
                name
                for name, bad in (("wrong_person", not w.right_person), ("protected", w.protected),
                                  ("wrong_address", w.wrong_address))
                if bad
            )  # fmt: skip
            namesake = "namesake" if w.chosen != w.lead.person_id else "lead's person"
            through[f"{harm} | {w.lead.rule.value} | {status(w.chosen_entity)} | {namesake}"] += 1
        if w.actionable and w.on.outcome is Outcome.STOPPED:
            wrongly_stopped[f"{w.on.guards[0]} | {w.lead.rule.value} | {status(w.intended)}"] += 1
    for title, counts in (
        ("wrongful actions with the guards on: harm | rule | true status | profile", through),
        ("truly actionable leads the guards stopped: guard | rule | true status", wrongly_stopped),
    ):
        table = Table(title, "leads")
        for key, count in counts.most_common(15):
            table.add_row(key, f"{count:,}")
        console.print(table)
    return {"let_through": dict(through), "actionable_stopped": dict(wrongly_stopped)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--leads", type=int, default=None, help="a deterministic sample")
    parser.add_argument("--identity-threshold", type=float, default=None)
    parser.add_argument("--address-threshold", type=float, default=None)
    args = parser.parse_args()
    database, seconds = prepare(args.work, args.persons, args.seed)
    defaults = Thresholds.of(load_settings(home=args.work / "workspace"))
    thresholds = Thresholds(
        args.identity_threshold if args.identity_threshold is not None else defaults.identity,
        args.address_threshold if args.address_threshold is not None else defaults.address,
    )
    world = args.work / "world"
    start = time.perf_counter()
    with database.transaction() as session:
        result = simulate_cases(
            session, truth_records=world / "truth.csv", truth_persons=world / "persons.csv",
            as_of=DEFAULT_REFERENCE_DATE, thresholds=thresholds, actor=OPERATOR,
            leads=args.leads,
        )  # fmt: skip
    seconds["simulate"] = time.perf_counter() - start
    database.dispose()
    console.print(
        f"{len(result.worked):,} leads worked of {result.leads_found:,} on {result.as_of}; "
        f"identity threshold {thresholds.identity}, address threshold {thresholds.address}"
    )
    print_figures(result)
    analysis = analyse(result, world / "persons.csv")
    console.print(
        "seconds: " + ", ".join(f"{stage} {s:.1f}" for stage, s in seconds.items())
        + " (a stage missing was reused from --work)"
    )  # fmt: skip
    console.print(
        f"actionable leads reaching their action with the guards, of those without: "
        f"{result.reach_kept:.1%}"
    )
    console.print(
        "targets (guards on): "
        + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in result.targets.items())
    )
    print(
        json.dumps(
            {
                "persons": args.persons,
                "seed": args.seed,
                "thresholds": {"identity": thresholds.identity, "address": thresholds.address},
                "seconds": {k: round(v, 1) for k, v in seconds.items()},
                **result.as_dict(),
                "analysis": analysis,
                "date": dt.date.today().isoformat(),
            },
            sort_keys=True,
        )
    )


if __name__ == "__main__":
    main()
