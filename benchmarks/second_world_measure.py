"""Caseline on the second world beside the generator's own world of the same people (issue 20).

    .venv/bin/python benchmarks/second_world_measure.py --persons 20000 --seed 1 --work D
    .venv/bin/python benchmarks/second_world_measure.py --persons 2000 --work D   # quick

Generates the world (`caseline generate`) into D/world unless it is there, writes the second
world from it into D/second (`benchmarks/second_world`), then for each, in a fresh workspace
and through the documented command line as a data engineer: ingest (the world's six files;
the registry with its mapping), resolve, `caseline evaluate`, `caseline evaluate addresses`
and `caseline simulate`. Beside those it reads the workspace to measure what no command
prints: how many thin records (no date of birth, no identifier: the world's `utility`
records, the registry's `account` records) land in their true person and with what
precision, and, on the second world, how often a stored address key differs from the true
address's key, by the slip planted. A stage already done in D is reused. Prints the figures
side by side; the last line is one JSON object. The figures are exact for a seed.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import func, select

import caseline.profiles.address_evaluation as address_evaluation
from caseline.cases import find_leads
from caseline.cases.ground_truth import read_ground_truth
from caseline.db import Database
from caseline.db.models import PersonRecord, QuarantinedRow, RecordValueIssue, SourceRecord
from caseline.oversight import Actor, Role
from caseline.profiles.address_evidence import address_key
from caseline.profiles.address_leads import with_name_leads
from caseline.profiles.address_model import load_address_model
from caseline.profiles.address_records import load_address_records
from caseline.sources import record_id_for
from caseline.standardise import InvalidValue
from caseline.standardise.addresses import parse_address_line
from second_world import write_second_world

CASELINE = [sys.executable, "-m", "caseline.cli"]
OPERATOR = Actor("benchmark", Role.DATA_ENGINEER)
PASSWORD = "second world benchmark"  # noqa: S105 - a throwaway workspace's local user
AS_OF = "2026-01-01"


def run(env: dict[str, str], *args: str, check: bool = True, stdin: str | None = None) -> str:
    done = subprocess.run(
        [*CASELINE, *args], env=env, check=False, capture_output=True, text=True, input=stdin
    )
    if check and done.returncode not in (0, 1):
        raise SystemExit(f"caseline {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def last_json(output: str) -> dict[str, Any]:
    figures: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return figures


def workspace(home: Path) -> dict[str, str]:
    """A fresh workspace's environment, acting as a data engineer."""
    env = {**os.environ, "CASELINE_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    if not (home / "caseline.db").is_file():
        run(env, "users", "add", "admin", "--role", "admin", "--password-stdin", stdin=PASSWORD)
        admin = {**env, "CASELINE_TOKEN": _token(env, "admin")}
        run(admin, "users", "add", "engineer", "--role", "data_engineer", "--password-stdin",
            stdin=PASSWORD)  # fmt: skip
    return {**env, "CASELINE_TOKEN": _token(env, "engineer")}


def _token(env: dict[str, str], user: str) -> str:
    """A session token for ``user`` (the command line acts as whoever signed in)."""
    return run(env, "login", user, "--password-stdin", "--print-token", stdin=PASSWORD).strip()


def measure(
    name: str, home: Path, inputs: list[list[str]], truth: Path, persons: Path, thin: set[str]
) -> dict[str, Any]:
    """Ingest, resolve, evaluate and simulate one world in its workspace (stages reused)."""
    env = workspace(home)
    done = home / "stages.json"
    stages: dict[str, Any] = json.loads(done.read_text()) if done.is_file() else {}
    for stage, args in (
        *((f"ingest {i}", ["ingest", *a]) for i, a in enumerate(inputs)),
        ("resolve", ["resolve"]),
        ("evaluate", ["evaluate", "--truth", str(truth)]),
        ("addresses", ["evaluate", "addresses", "--truth", str(truth), "--current",
                       str(persons), "--as-of", AS_OF, "--plot", str(home / "reliability.png")]),
        ("simulate", ["simulate", "--truth-records", str(truth), "--truth-persons",
                      str(persons), "--as-of", AS_OF]),
    ):  # fmt: skip
        if stage in stages:
            continue
        start = time.perf_counter()
        output = run(env, *args)
        stages[stage] = {"seconds": round(time.perf_counter() - start, 1)}
        if stage in ("evaluate", "addresses", "simulate"):
            stages[stage]["figures"] = last_json(output)
        print(f"  {name}: {stage} in {stages[stage]['seconds']} s", flush=True)
        done.write_text(json.dumps(stages))
    database = Database(f"sqlite:///{home / 'caseline.db'}")
    try:
        stages["thin"] = thin_records(database, truth, thin)
        stages["leads_by_rule"], stages["leads_by_rule_and_status"] = leads(
            database, truth, persons
        )
        with database.transaction() as session:
            issues = session.execute(
                select(RecordValueIssue.field, RecordValueIssue.reason, func.count())
                .group_by(RecordValueIssue.field, RecordValueIssue.reason)
            ).all()  # fmt: skip
            quarantined = session.scalar(select(func.count()).select_from(QuarantinedRow))
        stages["value_issues"] = {f"{field}: {reason}": n for field, reason, n in issues}
        stages["quarantined"] = quarantined
    finally:
        database.dispose()
    return stages


def leads(database: Database, truth: Path, persons: Path) -> tuple[dict[str, int], dict[str, int]]:
    """The leads the rules find on the day, by rule, and by rule and the true status of the
    entity holding most of the lead's person's records."""
    ground = read_ground_truth(truth, persons)
    with database.transaction() as session:
        found = find_leads(session, dt.date.fromisoformat(AS_OF))
        records: dict[str, list[str]] = defaultdict(list)
        for record, person in session.execute(
            select(PersonRecord.record_id, PersonRecord.person_id)
        ):
            records[person].append(record)
    by_rule = Counter(lead.rule.value for lead in found)
    by_status: Counter[str] = Counter()
    for lead in found:
        entity = ground.majority(records[lead.person_id])
        true = ground.persons.get(entity or "")
        by_status[f"{lead.rule.value} | {true.status if true else 'unknown'}"] += 1
    return dict(sorted(by_rule.items())), dict(by_status.most_common())


def truth_rows(truth: Path) -> list[dict[str, str]]:
    with truth.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def thin_records(database: Database, truth: Path, thin: set[str]) -> dict[str, Any]:
    """How the thin records (truth rows whose ``record_id`` is in ``thin``) were placed.

    Each true entity's person is the Caseline person holding most of its records (as
    `caseline evaluate addresses` judges). A thin record of an entity with two or more
    records is *placed* when it is in that person; a thin record in a person of two or more
    records is *precise* when that person's records are mostly its own entity's. Of the thin
    records not placed: how many belong to entities with other records, and (where the truth
    names each record's true address) how many of those are at an address that none of the
    entity's other records shows."""
    rows = {record_id_for(r["source"], r["source_key"]): r for r in truth_rows(truth)}
    entity_of = {record: r["entity_id"] for record, r in rows.items()}
    with database.transaction() as session:
        person_of = dict(
            session.execute(select(PersonRecord.record_id, PersonRecord.person_id)).all()
        )
    members: dict[str, list[str]] = defaultdict(list)
    by_entity: dict[str, Counter[str]] = defaultdict(Counter)
    seen_at: dict[str, set[str]] = defaultdict(set)  # entity -> addresses of its other records
    for record, entity in entity_of.items():
        person = person_of.get(record)
        if record not in thin:
            seen_at[entity].add(rows[record].get("true_address") or "")
        if person is not None:
            members[person].append(entity)
            by_entity[entity][person] += 1
    home = {entity: persons.most_common(1)[0][0] for entity, persons in by_entity.items()}
    sizes = Counter(entity_of.values())
    judged = placed = linked = precise = with_others = unseen = 0
    for record in thin:
        entity, person = entity_of[record], person_of.get(record)
        if person is None:
            continue
        if sizes[entity] >= 2:
            judged += 1
            placed += person == home[entity]
            if person != home[entity] and entity in seen_at:
                with_others += 1
                unseen += rows[record].get("true_address") not in seen_at[entity]
        if len(members[person]) >= 2:
            linked += 1
            precise += Counter(members[person]).most_common(1)[0][0] == entity
    named = any("true_address" in r for r in rows.values())
    return {
        "thin_records": len(thin),
        "judged": judged,
        "placed": round(placed / judged, 6) if judged else None,
        "linked": linked,
        "precision": round(precise / linked, 6) if linked else None,
        "missed": judged - placed,
        "missed_with_other_records": with_others,
        "missed_at_an_address_no_other_record_shows": unseen if named else None,
    }


def address_keys(home: Path, truth: Path) -> dict[str, Any]:
    """Second world: per slip planted, the share of records with an address whose stored key
    differs from the key of the true address (parsed as `evaluate addresses` parses it); and
    the share of a person's residences of two or more records stored under two or more keys."""
    rows = {
        record_id_for(r["source"], r["source_key"]): r
        for r in truth_rows(truth)
        if r["true_address"]
    }
    database = Database(f"sqlite:///{home / 'caseline.db'}")
    try:
        with database.transaction() as session:
            stored = session.execute(
                select(SourceRecord.record_id, SourceRecord.street_number, SourceRecord.street,
                       SourceRecord.unit, SourceRecord.postcode)
            ).all()  # fmt: skip
    finally:
        database.dispose()
    seen: Counter[str] = Counter()
    differ: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    keys_of: dict[tuple[str, str], list[str]] = defaultdict(list)
    for record_id, number, street, unit, postcode in stored:
        row = rows.get(record_id)
        if row is None:
            continue
        try:
            true = parse_address_line(row["true_address"])
        except InvalidValue:
            continue
        want = address_key(true.street_number, true.street, true.unit, true.postcode)
        got = address_key(number, street, unit, postcode)
        keys_of[(row["entity_id"], row["true_address"])].append(got)
        slips = [s for s in row["slips"].split(";") if s in ADDRESS_SLIPS] or ["none"]
        for slip in {"all", *slips}:
            seen[slip] += 1
            differ[slip] += got != want
            if got != want and slip == "none" and len(examples[slip]) < 5:
                examples[slip].append(f"{want!r} -> {got!r}")
    residences = [set(keys) for keys in keys_of.values() if len(keys) >= 2]
    split = sum(len(keys) >= 2 for keys in residences)
    return {
        slip: {"records": seen[slip], "key_differs": round(differ[slip] / seen[slip], 4)}
        for slip in sorted(seen)
    } | {
        "residences": {
            "records_2_or_more": len(residences),
            "split": round(split / len(residences), 4),
        },
        "clean_examples": examples.get("none", []),
    }


ADDRESS_SLIPS = (
    "zip_missing", "zip_off", "unit_missing", "unit_glued", "unit_broken", "street_typo",
    "number_swapped",
)  # fmt: skip


def perfect_addresses(home: Path, truth: Path, persons: Path, *, true_keys: bool) -> dict[str, Any]:
    """`caseline evaluate addresses` as if resolution were perfect (each record in its true
    entity) and, with ``true_keys``, each record's address parts those of its true address
    (the second world's truth names it). Patches this process's record loader only."""
    rows = truth_rows(truth)
    entity_of = {record_id_for(r["source"], r["source_key"]): r["entity_id"] for r in rows}
    parts: dict[str, tuple[str | None, ...]] = {}
    if true_keys:
        for r in rows:
            if r["true_address"]:
                a = parse_address_line(r["true_address"])
                parts[record_id_for(r["source"], r["source_key"])] = (
                    a.street_number,
                    a.street,
                    a.unit,
                    a.city,
                    a.state,
                    a.postcode,
                )

    def perfect(session: Any, person_id: str | None = None) -> Any:
        frame = load_address_records(session, person_id)
        frame = frame[(frame["lead"] == 0) & frame["record_id"].isin(entity_of)]
        frame = frame.drop(columns=["lead", "claimants"]).copy()
        frame["person_id"] = frame["record_id"].map(entity_of)
        if true_keys:
            columns = ["street_number", "street", "unit", "city", "state", "postcode"]
            known = frame["record_id"].isin(parts)
            if known.any():
                frame.loc[known, columns] = [parts[r] for r in frame.loc[known, "record_id"]]
        return with_name_leads(frame.sort_values(["person_id", "record_id"]).reset_index(drop=True))

    database = Database(f"sqlite:///{home / 'caseline.db'}")
    patched = mock.patch.object(address_evaluation, "load_address_records", perfect)
    try:
        with patched, database.transaction() as session:
            result = address_evaluation.evaluate_addresses(
                session, truth_path=truth, current_path=persons,
                as_of=dt.date.fromisoformat(AS_OF), model=load_address_model(), actor=OPERATOR,
            )  # fmt: skip
    finally:
        database.dispose()
    methods = result.overall.methods
    return {
        "top1": round(methods["caseline"].top1_accuracy, 6),
        "ece": round(methods["caseline"].ece, 6),
        "most_recent_top1": round(methods["most_recent"].top1_accuracy, 6),
        "groups_below_most_recent": sorted(
            name
            for name, g in result.by_group.items()
            if g.methods["caseline"].top1_accuracy < g.methods["most_recent"].top1_accuracy
        ),
    }


def side_by_side(world: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """The figures of the two worlds, one pair per line."""
    figures: dict[str, Any] = {}
    for name, stages in (("world", world), ("second", second)):
        evaluate = stages["evaluate"]["figures"]
        addresses = stages["addresses"]["figures"]
        simulate = stages["simulate"]["figures"]
        on = simulate["guards_on"]
        figures[name] = {
            "person_f1": evaluate["f1"],
            "precision": evaluate["precision"],
            "recall": evaluate["recall"],
            "bcubed_f1": evaluate["bcubed_f1"],
            "group_f1": {g: s["f1"] for g, s in evaluate.get("by_group", {}).items()},
            "thin_placed": stages["thin"]["placed"],
            "thin_precision": stages["thin"]["precision"],
            "thin_judged": stages["thin"]["judged"],
            "ingest_rows_per_s": round(evaluate["records"] / stages["ingest 0"]["seconds"]),
            "address_top1": addresses["caseline"]["top1_accuracy"],
            "address_ece": addresses["caseline"]["ece"],
            "most_recent_top1": addresses["most_recent"]["top1_accuracy"],
            "address_ceiling": addresses["ceiling"],
            "address_groups_below_most_recent": sorted(
                g
                for g, s in addresses["by_group"].items()
                if s["caseline"]["top1_accuracy"] < s["most_recent"]["top1_accuracy"]
            ),
            "leads": simulate["leads"],
            "leads_by_rule": stages["leads_by_rule"],
            "per_1000_guards_on": {
                k: on["per_1000_leads"][k] for k in ("wrong_person", "protected", "wrong_address")
            },
            "actionable_reach": on["actionable_reach"],
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    work: Path = args.work
    world, second = work / "world", work / "second"
    if not (world / "truth.csv").is_file():
        subprocess.run([*CASELINE, "generate", "--persons", str(args.persons), "--seed",
                        str(args.seed), "--out", str(world)], check=True)  # fmt: skip
    if not (second / "truth.csv").is_file():
        written = write_second_world(
            world, second, seed=args.seed, as_of=dt.date.fromisoformat(AS_OF)
        )
        print(f"second world: {written.records:,} records, {written.records_by_kind}")
    world_truth = truth_rows(world / "truth.csv")
    second_truth = truth_rows(second / "truth.csv")
    world_thin = {
        record_id_for(r["source"], r["source_key"]) for r in world_truth if r["source"] == "utility"
    }
    second_thin = {
        record_id_for(r["source"], r["source_key"]) for r in second_truth if r["kind"] == "account"
    }
    registry = [str(second / "registry.csv"), "--mapping", str(second / "registry.yaml")]
    results = {
        "world": measure("world", work / "ws-world", [[str(world)]], world / "truth.csv",
                         world / "persons.csv", world_thin),
        "second": measure("second", work / "ws-second", [registry], second / "truth.csv",
                          second / "persons.csv", second_thin),
    }  # fmt: skip
    keys = address_keys(work / "ws-second", second / "truth.csv")
    figures = side_by_side(results["world"], results["second"])
    perfect = {
        "world": perfect_addresses(work / "ws-world", world / "truth.csv", world / "persons.csv",
                                   true_keys=False),
        "second": perfect_addresses(work / "ws-second", second / "truth.csv",
                                    second / "persons.csv", true_keys=False),
        "second_true_keys": perfect_addresses(work / "ws-second", second / "truth.csv",
                                              second / "persons.csv", true_keys=True),
    }  # fmt: skip
    print(f"{'figure':<36}{'world':>14}{'second world':>16}")
    for figure, value in figures["world"].items():
        other = figures["second"][figure]
        if isinstance(value, dict) and figure == "group_f1":
            for group in sorted(value):
                print(
                    f"  F1 {group:<31}{value[group]:>14.4f}{other.get(group, float('nan')):>16.4f}"
                )
        elif isinstance(value, dict):
            for k in sorted({*value, *other}):
                print(f"  {figure} {k:<20}{value.get(k, 0)!s:>14}{other.get(k, 0)!s:>16}")
        else:
            print(f"{figure:<36}{value!s:>14}{other!s:>16}")
    for name, stages in results.items():
        thin = stages["thin"]
        print(
            f"{name}: thin records not placed {thin['missed']:,}, of persons with other records "
            f"{thin['missed_with_other_records']:,}, at an address no other record shows "
            f"{thin['missed_at_an_address_no_other_record_shows']}"
        )
        print(f"{name}: leads by rule and true status {stages['leads_by_rule_and_status']}")
        print(
            f"{name}: quarantined {stages['quarantined']:,}, "
            f"values left out {stages['value_issues']}"
        )
    print("address confidence given perfect resolution (and, on the second world, true keys):")
    for name, found in perfect.items():
        print(
            f"  {name:<18} top-1 {found['top1']:.4f} ECE {found['ece']:.4f} most recent "
            f"{found['most_recent_top1']:.4f} groups below it {found['groups_below_most_recent']}"
        )
    print("stored address key differs from the true address's, by slip (second world):")
    for slip, found in keys.items():
        if slip not in ("clean_examples", "residences"):
            print(f"  {slip:<20}{found['records']:>8} records {found['key_differs']:>8.1%}")
    residences = keys["residences"]
    print(
        f"  residences of 2+ records stored under 2+ keys: {residences['split']:.1%} of "
        f"{residences['records_2_or_more']:,}"
    )
    for example in keys["clean_examples"]:
        print(f"  no slip, yet: {example}")
    details = ("thin", "leads_by_rule_and_status", "value_issues", "quarantined")
    summary = {
        "persons": args.persons,
        "seed": args.seed,
        **figures,
        "address_keys": keys,
        "perfect_resolution": perfect,
        "details": {n: {k: r[k] for k in details} for n, r in results.items()},
        "seconds": {
            n: {s: v["seconds"] for s, v in r.items() if isinstance(v, dict) and "seconds" in v}
            for n, r in results.items()
        },
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
