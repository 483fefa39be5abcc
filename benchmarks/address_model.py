"""Fit the address-confidence model on a resolved, generated world and save it.

    .venv/bin/python benchmarks/address_model.py --workspace /tmp/train-workspace \
        --truth /tmp/world/truth.csv --current /tmp/world/persons.csv --as-of 2026-01-01 \
        --out src/caseline/profiles/address_model.json

The workspace must hold the world's records, resolved (`caseline ingest`, `caseline
resolve`). Each true person is judged through the Caseline person holding most of its
records, exactly as `caseline evaluate addresses` judges; fit on one world, measure on
another (another seed) so the figures are out of sample.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

from caseline.config import load_settings
from caseline.db import Database
from caseline.profiles.address_evaluation import labelled_evidence
from caseline.profiles.address_model import fit_address_model, save_address_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--current", type=Path, required=True)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    database = Database(load_settings(home=args.workspace).resolved_database_url)
    started = time.perf_counter()
    with database.transaction() as session:
        evidence, current = labelled_evidence(
            session, truth_path=args.truth, current_path=args.current, as_of=args.as_of
        )
    persons = evidence["person_id"].nunique()
    model = fit_address_model(
        evidence,
        current,
        {
            "world": args.truth.parent.name,
            "as_of": args.as_of.isoformat(),
            "persons": int(persons),
            "addresses": len(evidence),
        },
    )
    save_address_model(model, args.out)
    print(json.dumps(model.as_json(), indent=2))
    print(
        f"fitted on {persons:,} persons, {len(evidence):,} addresses "
        f"in {time.perf_counter() - started:.1f} s -> {args.out}"
    )


if __name__ == "__main__":
    main()
