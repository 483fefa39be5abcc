"""Fit the identity-assurance model on a resolved, generated world and save it.

    .venv/bin/python benchmarks/assurance_model.py --workspace /tmp/train-workspace \
        --truth /tmp/world/truth.csv --out src/caseline/resolve/assurance_model.json

The workspace must have been resolved by this Caseline (`caseline resolve`), which stores
each person's assurance evidence. A person is pure when all its truth-listed records belong
to one true person. Fit on one world and measure (`caseline evaluate`, purity by band) on
another.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from sqlalchemy import select

from caseline.config import load_settings
from caseline.db import Database
from caseline.db.models import Person, PersonRecord
from caseline.resolve.assurance import AssuranceEvidence, fit_assurance_model
from caseline.resolve.evaluation import read_truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    entity_of = {t.record_id: t.entity_id for t in read_truth(args.truth)}
    database = Database(load_settings(home=args.workspace).resolved_database_url)
    with database.transaction() as session:
        stored = session.execute(select(Person.person_id, Person.assurance_evidence)).all()
        entities: dict[str, set[str]] = defaultdict(set)
        for record_id, person_id in session.execute(
            select(PersonRecord.record_id, PersonRecord.person_id)
        ):
            if record_id in entity_of:
                entities[person_id].add(entity_of[record_id])
    evidence, pure = [], []
    for person_id, stored_evidence in stored:
        if not stored_evidence:
            raise SystemExit(f"person {person_id} has no assurance evidence: resolve again")
        fields = {k: v for k, v in stored_evidence.items() if k != "assurance"}
        fields["conflicting_identifiers"] = tuple(fields["conflicting_identifiers"])
        evidence.append(AssuranceEvidence(**fields))
        pure.append(len(entities[person_id]) <= 1)
    model = fit_assurance_model(evidence, pure, {"world": args.truth.parent.name})
    args.out.write_text(json.dumps(model.as_json(), indent=2, sort_keys=True) + "\n")
    print(json.dumps(model.as_json(), indent=2))


if __name__ == "__main__":
    main()
