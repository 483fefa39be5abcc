"""Measure the current persons against ground truth: pairwise precision, recall and F1."""

from __future__ import annotations

import csv
import re
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
    # The key as a typed file would have given it at ingest ('17.0' -> '17'), tried when the
    # key as written is not in the store.
    alternative_id: str | None = None


@dataclass(frozen=True, slots=True)
class PairwiseScores:
    """Pairs of records placed in one person, compared with the pairs that truly are one."""

    true_positive_pairs: int
    predicted_pairs: int
    true_pairs: int
    records: int
    by_group: dict[str, PairwiseScores] = field(default_factory=dict)
    missing_records: int = 0  # truth records that are not in the store (never ingested)

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
            "missing_records": self.missing_records,
        }
        if self.by_group:
            figures["by_group"] = {g: s.as_dict() for g, s in sorted(self.by_group.items())}
        return figures


def read_truth(path: Path) -> list[TruthRecord]:
    """Read a truth CSV (source, source_key, entity_id[, group]); names the bad line if any."""
    if not path.is_file():
        raise InputError("no such file", where=str(path))
    try:
        truth = _truth_rows(path)
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", where=str(path)) from None
    if not truth:
        raise InputError("the truth file lists no records", where=str(path))
    return truth


def _truth_rows(path: Path) -> list[TruthRecord]:
    csv.field_size_limit(1 << 24)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in TRUTH_COLUMNS if c not in header]
        if missing:
            raise InputError(f"missing columns: {', '.join(missing)}", where=f"{path}:1")
        column = {name: header.index(name) for name in (*TRUTH_COLUMNS, "group") if name in header}
        truth: dict[str, TruthRecord] = {}
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return list(truth.values())
            except csv.Error as exc:
                raise InputError(
                    f"unreadable CSV ({exc})", where=f"{path}:{reader.line_num}"
                ) from None
            if not any(f.strip() for f in fields):
                continue
            where = f"{path}:{reader.line_num}"
            if len(fields) != len(header):
                raise InputError(
                    f"row has {len(fields)} fields, the header {len(header)}", where=where
                )
            source, key, entity = (fields[column[c]].strip() for c in TRUTH_COLUMNS)
            if not (source and key and entity):
                raise InputError("empty source, source_key or entity_id", where=where)
            record_id = record_id_for(source, key)
            if record_id in truth:
                raise InputError(f"record {source}/{key} is listed twice", where=where)
            group = fields[column["group"]].strip() or None if "group" in column else None
            whole = _WHOLE_FLOAT.match(key)
            alternative = record_id_for(source, whole[1]) if whole else None
            truth[record_id] = TruthRecord(record_id, entity, group, alternative)


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
    labelled = [(t, _person_of(t, person_of)) for t in truth]
    overall = _scores(labelled)
    groups = sorted({t.group for t in truth if t.group})
    by_group = {g: _scores([(t, p) for t, p in labelled if t.group == g]) for g in groups}
    return PairwiseScores(
        overall.true_positive_pairs,
        overall.predicted_pairs,
        overall.true_pairs,
        overall.records,
        by_group=by_group,
        missing_records=overall.missing_records,
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
        missing_records=sum(1 for _, person in labelled if person.startswith(_MISSING)),
    )


_MISSING = "missing:"
_WHOLE_FLOAT = re.compile(r"^(-?\d+)\.0+$")


def _person_of(truth: TruthRecord, person_of: dict[str, str]) -> str:
    found = person_of.get(truth.record_id)
    if found is None and truth.alternative_id is not None:
        found = person_of.get(truth.alternative_id)
    return (
        found if found is not None else _MISSING + truth.record_id
    )  # a truth record never ingested: a person of its own
