"""Measure the current persons against ground truth: pairwise precision, recall and F1."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import PersonRecord
from caseline.errors import InputError, StateError
from caseline.sources import record_id_for

TRUTH_COLUMNS = ("source", "source_key", "entity_id")


@dataclass(frozen=True, slots=True)
class TruthRecord:
    record_id: str
    entity_id: str
    group: str | None


@dataclass(frozen=True, slots=True)
class PairwiseScores:
    """Pairs of records placed in one person, compared with the pairs that truly are one."""

    true_positive_pairs: int
    predicted_pairs: int
    true_pairs: int
    records: int
    by_group: dict[str, PairwiseScores] = field(default_factory=dict)

    @property
    def precision(self) -> float:
        return self.true_positive_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, object]:
        figures: dict[str, object] = {
            "precision": round(self.precision, 6),
            "recall": round(self.recall, 6),
            "f1": round(self.f1, 6),
            "true_positive_pairs": self.true_positive_pairs,
            "predicted_pairs": self.predicted_pairs,
            "true_pairs": self.true_pairs,
            "records": self.records,
        }
        if self.by_group:
            figures["by_group"] = {g: s.as_dict() for g, s in sorted(self.by_group.items())}
        return figures


def read_truth(path: Path) -> list[TruthRecord]:
    """Read a truth CSV (source, source_key, entity_id[, group]); names the bad line if any."""
    if not path.is_file():
        raise InputError("no such file", where=str(path))
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in TRUTH_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"missing columns: {', '.join(missing)}", where=f"{path}:1")
        has_group = "group" in (reader.fieldnames or [])
        truth = []
        for row in reader:
            if not all(row.get(c) for c in TRUTH_COLUMNS):
                raise InputError(
                    "empty source, source_key or entity_id", where=f"{path}:{reader.line_num}"
                )
            truth.append(
                TruthRecord(
                    record_id=record_id_for(row["source"], row["source_key"]),
                    entity_id=row["entity_id"],
                    group=(row.get("group") or None) if has_group else None,
                )
            )
    return truth


def evaluate_resolution(session: Session, truth_path: Path) -> PairwiseScores:
    """Pairwise scores of the stored persons against the truth file, overall and per group.

    A truth record that never reached the store counts as a person of its own, so lost
    records lower recall rather than vanishing from the measure.
    """
    truth = read_truth(truth_path)
    person_of = {
        record_id: person_id
        for record_id, person_id in session.execute(
            select(PersonRecord.record_id, PersonRecord.person_id)
        )
    }
    if not person_of:
        raise StateError("no persons yet; run `caseline resolve` first")
    labelled = [(t, person_of.get(t.record_id, f"missing:{t.record_id}")) for t in truth]
    overall = _scores(labelled)
    groups = sorted({t.group for t in truth if t.group})
    by_group = {g: _scores([(t, p) for t, p in labelled if t.group == g]) for g in groups}
    return PairwiseScores(
        overall.true_positive_pairs,
        overall.predicted_pairs,
        overall.true_pairs,
        overall.records,
        by_group=by_group,
    )


def _pairs(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def _scores(labelled: list[tuple[TruthRecord, str]]) -> PairwiseScores:
    both = Counter((t.entity_id, person) for t, person in labelled)
    predicted = Counter(person for _, person in labelled)
    true = Counter(t.entity_id for t, _ in labelled)
    return PairwiseScores(
        true_positive_pairs=_pairs(both.values()),
        predicted_pairs=_pairs(predicted.values()),
        true_pairs=_pairs(true.values()),
        records=len(labelled),
    )
