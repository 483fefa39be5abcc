"""Resolution beside vanilla Splink: accuracy against the truth, wall time and peak memory.

    .venv/bin/python benchmarks/resolution.py --world /tmp/world-120k     # about 1,000,000 records
    .venv/bin/python benchmarks/resolution.py --persons 2000              # a quick check
    .venv/bin/python benchmarks/resolution.py --world W --blank date_of_birth --skip-vanilla

Generates the world if its folder holds none, ingests it into a SQLite workspace under --work
(reused while the world's truth.csv is unchanged), reads the model frame once and saves it as
Parquet. Then each contestant, vanilla Splink as its tutorial configures a dedupe and
Caseline's `link_records`, runs in a forked child starting from that Parquet file, one after
the other, so the wall time and peak memory are its own. Prints pairwise and B-cubed figures
against the truth (overall and per naming group), time, memory, the blocking pair recall and
the reachable recall of each, and the issue's targets with met / not met; the last line is
one JSON object with every figure.

``--blank COLUMN`` (repeatable) empties a column of the model frame in every record before
either contestant starts: harder data than the world's, such as a file with no dates of
birth. The frame and the results then go to a folder of their own beside the full frame.
Vanilla Splink then trains on the postcode where its recipe would train on an empty column.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from blocking_recall import blocking_recall, truth_table
from caseline.config import load_settings
from caseline.db import Database, upgrade_to_head
from caseline.ingest import ingest_file
from caseline.oversight import Actor, Role
from caseline.resolve.engine import DEFAULT_ENGINE
from caseline.resolve.evaluation import PairwiseScores, read_truth, score_assignments
from caseline.resolve.features import add_features
from caseline.resolve.linking import link_records
from caseline.resolve.model import model_settings
from caseline.resolve.records import load_model_frame, present_columns
from caseline.sources import SOURCES
from caseline.synth import generate_world
from vanilla_splink import run_vanilla, vanilla_linker, write_assignments

OPERATOR = Actor("benchmark", Role.DATA_ENGINEER)
CONTESTANTS = ("vanilla", "caseline")
TITLES = {"vanilla": "vanilla Splink", "caseline": "Caseline"}
console = Console(highlight=False, soft_wrap=True)


# The targets (for Caseline).
F1_TARGET, GROUP_F1_TARGET, PRECISION_TARGET = 0.95, 0.90, 0.97
LARGEST_PERSON_TARGET = 50
RATIO_TARGET = 1.0
BLOCKING_RECALL_TARGET = 0.995


# --- the world, the workspace and the frame -------------------------------------------------


def ensure_world(world: Path, persons: int, seed: int) -> Path:
    """The world's truth file, generating the world first if the folder holds none."""
    truth = world / "truth.csv"
    if not truth.is_file():
        console.print(f"generating a world of {persons:,} persons (seed {seed}) in {world}")
        run_in_child(lambda: _generate(world, persons, seed))
    return truth


def _generate(world: Path, persons: int, seed: int) -> dict[str, Any]:
    summary = generate_world(persons, seed, world)
    return {"records": sum(summary.records_by_source.values())}


def ensure_frame(world: Path, truth: Path, work: Path) -> Path:
    """The model frame as Parquet, ingesting the world first unless this work dir already has.

    Keyed by the truth file's sha256, so one work dir can hold several worlds.
    """
    with truth.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()[:16]
    frame_path = work / digest / "records.parquet"
    if frame_path.is_file():
        console.print(f"reusing the ingested frame {frame_path}")
    else:
        run_in_child(lambda: _ingest(world, frame_path))
    return frame_path


def blanked_frame(frame_path: Path, columns: list[str]) -> Path:
    """The model frame with ``columns`` emptied in every record, in a folder of its own."""
    frame = pq.read_table(frame_path)
    unknown = sorted(set(columns) - set(frame.column_names))
    if unknown:
        raise SystemExit(f"--blank: no column {', '.join(unknown)} in the model frame")
    for column in columns:
        position = frame.column_names.index(column)
        empty = pa.nulls(frame.num_rows, frame.schema.field(column).type)
        frame = frame.set_column(position, column, empty)
    out = frame_path.parent / f"without-{'-'.join(sorted(columns))}" / frame_path.name
    out.parent.mkdir(exist_ok=True)
    pq.write_table(frame, out)
    console.print(f"emptied {', '.join(columns)} in every record: {out}")
    return out


def _ingest(world: Path, frame_path: Path) -> dict[str, Any]:
    """Each source file in its own transaction (a re-run skips what is loaded), then the frame."""
    home = frame_path.parent / "workspace"
    url = f"sqlite:///{home / 'caseline.db'}"
    home.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(url)
    settings = load_settings(home=home, database_url=url)
    database = Database(url)
    start = time.perf_counter()
    for source in SOURCES:
        files = (world / f"{source}.csv", world / f"{source}.parquet")
        path = next((file for file in files if file.is_file()), None)
        if path is None:
            continue
        with database.transaction() as session:
            summary = ingest_file(
                session, path, source, identifier_key=settings.identifier_key, actor=OPERATOR
            )
        console.print(
            f"  ingested {path.name}: {summary.loaded:,} records, "
            f"{summary.quarantined:,} quarantined"
        )
    with database.transaction() as session:
        frame = load_model_frame(session)
    database.dispose()
    partial = frame_path.with_suffix(".partial")
    frame.to_parquet(partial, index=False)
    partial.rename(frame_path)
    console.print(
        f"  {len(frame):,} records in {time.perf_counter() - start:.0f} s -> {frame_path}"
    )
    return {"records": len(frame)}


# --- forked children ------------------------------------------------------------------------


def run_in_child(task: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], float]:
    """Run ``task`` in a forked child: its JSON result and the child's peak resident MB.

    The parent stays lean (it only imports), so each child starts from the same state and
    its peak, read from the child's own rusage, is its own work plus that shared baseline.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        status, payload = 0, b"{}"
        try:
            payload = json.dumps(task()).encode()
        except BaseException:  # noqa: BLE001 - the child reports any failure and exits 1
            traceback.print_exc()
            status = 1
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the child process failed (status {os.waitstatus_to_exitcode(status)})")
    result: dict[str, Any] = json.loads(payload)
    return result, usage.ru_maxrss / 1024  # KiB on Linux


def caseline_linker(frame: pd.DataFrame) -> Any:
    """A linker with Caseline's blocking rules (and untrained comparisons) over ``frame``."""
    features = add_features(frame)
    return DEFAULT_ENGINE.create_linker(features, model_settings(present_columns(features)))


def run_caseline(frame_path: Path, threshold: float, out: Path) -> dict[str, Any]:
    start = time.perf_counter()
    frame = pd.read_parquet(frame_path)
    linkage = link_records(
        frame,
        threshold=threshold,
        engine=DEFAULT_ENGINE,
        on_step=lambda step: console.print(f"  {step} (at {time.perf_counter() - start:.1f} s)"),
    )
    seconds = time.perf_counter() - start
    write_assignments(
        out, [r for c in linkage.clusters for r in c], [c[0] for c in linkage.clusters for _ in c]
    )
    return {"seconds": seconds, "scored_pairs": linkage.scored_pairs, "links": linkage.links}


# --- blocking: which true pairs the rules generate ------------------------------------------


def measure_blocking(frame_path: Path, truth_path: Path, name: str) -> dict[str, Any]:
    frame = pd.read_parquet(frame_path)
    truth = truth_table(truth_path, frame["unique_id"])
    make = {"vanilla": vanilla_linker, "caseline": caseline_linker}[name]
    return blocking_recall(make(frame), truth)


# --- figures --------------------------------------------------------------------------------


def figures_of(scores: PairwiseScores, run: dict[str, Any]) -> dict[str, Any]:
    groups = {g: s.f1 for g, s in scores.by_group.items()}
    worst = min(groups, key=groups.__getitem__) if groups else None
    return {
        "precision": scores.precision,
        "recall": scores.recall,
        "f1": scores.f1,
        "bcubed_f1": scores.bcubed_f1,
        "largest_person": scores.largest_person,
        "largest_true_entity": scores.largest_true_entity,
        "worst_group": worst,
        "worst_group_f1": groups[worst] if worst else None,
        "group_f1": groups,
        "group_bcubed_f1": {g: s.bcubed_f1 for g, s in scores.by_group.items()},
        "missing_records": scores.missing_records,
        **run,
    }


def targets_of(case: dict[str, Any], ratios: dict[str, float | None]) -> list[dict[str, Any]]:
    """(target, Caseline's figure, met) for each of the issue's targets."""
    largest_allowed = max(LARGEST_PERSON_TARGET, case["largest_true_entity"])

    def row(name: str, value: Any, met: bool | None) -> dict[str, Any]:
        return {"target": name, "value": value, "met": met}

    return [
        row(f"pairwise F1 >= {F1_TARGET}", case["f1"], case["f1"] >= F1_TARGET),
        row(
            f"every group's F1 >= {GROUP_F1_TARGET}",
            case["worst_group_f1"],
            case["worst_group_f1"] is None or case["worst_group_f1"] >= GROUP_F1_TARGET,
        ),
        row(
            f"precision >= {PRECISION_TARGET}",
            case["precision"],
            case["precision"] >= PRECISION_TARGET,
        ),
        row(
            f"largest person <= {largest_allowed}",
            case["largest_person"],
            case["largest_person"] <= largest_allowed,
        ),
        *(
            row(
                f"{what} ratio <= {RATIO_TARGET}",
                ratios[what],
                None if ratios[what] is None else ratios[what] <= RATIO_TARGET,
            )
            for what in ("time", "memory")
        ),
        row(
            f"blocking pair recall >= {BLOCKING_RECALL_TARGET:.1%}",
            case["pair_recall"],
            case["pair_recall"] >= BLOCKING_RECALL_TARGET,
        ),
    ]


def show(value: Any, kind: str = "") -> str:
    if value is None:
        return "-"
    if kind == "%":
        return f"{value:.2%}"
    if kind == "s":
        return f"{value:,.1f} s"
    if kind == "MB":
        return f"{value:,.0f} MB"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_tables(
    results: dict[str, dict[str, Any]],
    ratios: dict[str, float | None],
    targets: list[dict[str, Any]],
) -> None:
    names = [n for n in CONTESTANTS if n in results]
    table = Table(title="Resolution against the truth")
    table.add_column("figure")
    for name in names:
        table.add_column(TITLES[name], justify="right")
    both = len(names) == len(CONTESTANTS)
    if both:
        table.add_column("Caseline / vanilla", justify="right")
    rows = [
        ("pairwise precision", "precision", ""),
        ("pairwise recall", "recall", ""),
        ("pairwise F1", "f1", ""),
        ("B-cubed F1", "bcubed_f1", ""),
        ("largest person", "largest_person", ""),
        ("largest true entity", "largest_true_entity", ""),
        ("worst group", "worst_group", ""),
        ("worst group's F1", "worst_group_f1", ""),
        ("candidate pairs", "candidate_pairs", ""),
        ("blocking pair recall", "pair_recall", "%"),
        ("reachable recall", "reachable_recall", "%"),
        ("wall time", "seconds", "s"),
        ("peak memory", "peak_mb", "MB"),
    ]
    ratio_of = {"seconds": ratios["time"], "peak_mb": ratios["memory"]}
    for label, key, kind in rows:
        ratio = ratio_of.get(key)
        cells = [show(results[n].get(key), kind) for n in names]
        if both:
            cells.append("" if ratio is None else f"{ratio:.2f}")
        table.add_row(label, *cells)
    console.print(table)

    groups = Table(title="F1 per naming group (pairwise / B-cubed)")
    groups.add_column("group")
    for name in names:
        groups.add_column(TITLES[name], justify="right")
    for group in sorted(results[names[0]]["group_f1"]):
        groups.add_row(
            group,
            *(
                f"{results[n]['group_f1'][group]:.4f} / {results[n]['group_bcubed_f1'][group]:.4f}"
                for n in names
            ),
        )
    console.print(groups)

    checks = Table(title="The issue's targets (Caseline)")
    checks.add_column("target")
    checks.add_column("Caseline", justify="right")
    checks.add_column("")
    for target in targets:
        kind = "%" if "recall" in target["target"] else ""
        verdict = {True: "[green]met[/green]", False: "[red]not met[/red]"}.get(
            target["met"], "not measured"
        )
        checks.add_row(target["target"], show(target["value"], kind), verdict)
    console.print(checks)


# --- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, help="world folder (generated if it holds none)")
    parser.add_argument("--persons", type=int, default=120_000, help="persons, if generating")
    parser.add_argument("--seed", type=int, default=1, help="seed, if generating")
    parser.add_argument("--work", type=Path, help="workspace, frame and results (default: temp)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=load_settings().match_threshold,
        help="match probability for both contestants (default: Caseline's, 0.8)",
    )
    parser.add_argument("--skip-vanilla", action="store_true")
    parser.add_argument(
        "--blank",
        action="append",
        default=[],
        metavar="COLUMN",
        help="empty this model-frame column in every record first (repeatable)",
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="caseline-resolution-"))
    world = args.world or work / f"world-{args.persons}-seed{args.seed}"
    truth_path = ensure_world(world, args.persons, args.seed)
    frame_path = ensure_frame(world, truth_path, work)
    if args.blank:
        frame_path = blanked_frame(frame_path, args.blank)
    names = [n for n in CONTESTANTS if not (n == "vanilla" and args.skip_vanilla)]
    runners = {"vanilla": run_vanilla, "caseline": run_caseline}

    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    runs: dict[str, dict[str, Any]] = {}
    for name in names:
        console.print(f"running {TITLES[name]} ...")
        out = frame_path.parent / f"{name}-persons.parquet"
        result, peak_mb = run_in_child(
            lambda run=runners[name], out=out: run(frame_path, args.threshold, out)
        )
        runs[name] = {**result, "peak_mb": peak_mb}
        console.print(f"  {result['seconds']:,.1f} s, peak {peak_mb:,.0f} MB")
    console.print("measuring the blocking rules ...")
    blocking = {
        name: run_in_child(lambda name=name: measure_blocking(frame_path, truth_path, name))[0]
        for name in names
    }

    truth = read_truth(truth_path)
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        assigned = pq.read_table(frame_path.parent / f"{name}-persons.parquet")
        person_of = dict(
            zip(assigned["unique_id"].to_pylist(), assigned["person"].to_pylist(), strict=True)
        )
        results[name] = figures_of(
            score_assignments(truth, person_of), {**runs[name], **blocking[name]}
        )
    both = "vanilla" in results
    ratios: dict[str, float | None] = {
        "time": results["caseline"]["seconds"] / results["vanilla"]["seconds"] if both else None,
        "memory": results["caseline"]["peak_mb"] / results["vanilla"]["peak_mb"] if both else None,
    }
    targets = targets_of(results["caseline"], ratios)
    records = pq.ParquetFile(frame_path).metadata.num_rows
    console.print(
        f"\n{records:,} records, {len({t.entity_id for t in truth}):,} true persons; "
        f"threshold {args.threshold}; each peak includes the {baseline_mb:,.0f} MB "
        "the parent process held when it forked"
    )
    print_tables(results, ratios, targets)
    print(
        json.dumps(
            {
                "world": str(world),
                "blanked": args.blank,
                "records": records,
                "threshold": args.threshold,
                "fork_baseline_mb": round(baseline_mb),
                "contestants": results,
                "ratios": ratios,
                "targets": targets,
                "all_targets_met": all(t["met"] for t in targets),
            }
        )
    )


if __name__ == "__main__":
    main()
