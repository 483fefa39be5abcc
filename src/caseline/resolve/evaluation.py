"""Measure persons against ground truth: pairwise and B-cubed precision, recall and F1.

`score_assignments` scores any record -> person mapping without a database (benchmarks
call it with in-memory clusters); `evaluate_resolution` feeds it the stored persons.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import Person, PersonRecord
from caseline.errors import InputError, StateError
from caseline.oversight import Actor, ResolutionEvaluated, permit
from caseline.resolve.assurance_evaluation import AssuranceBand, purity_by_band
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
    """How far the persons agree with the truth, counted over the records the truth lists.

    Pairwise figures count pairs of records placed in one person against the pairs that
    truly are one, so big persons weigh quadratically. B-cubed figures average over
    records: each record's precision is the share of its person that is its true entity,
    its recall the share of its true entity that is in its person. The largest person and
    the largest true entity show whether a huge person is borne out by the truth.
    """

    true_positive_pairs: int
    predicted_pairs: int
    true_pairs: int
    records: int
    by_group: dict[str, PairwiseScores] = field(default_factory=dict)
    missing_records: int = 0  # truth records that are not in the store (never ingested)
    bcubed_precision: float = 1.0
    bcubed_recall: float = 1.0
    largest_person: int = 0  # records of the biggest person, counting only truth records
    largest_true_entity: int = 0
    assurance_bands: tuple[AssuranceBand, ...] = ()  # purity of the persons in each band

    @property
    def precision(self) -> float:
        return self.true_positive_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        return _harmonic_mean(self.precision, self.recall)

    @property
    def bcubed_f1(self) -> float:
        return _harmonic_mean(self.bcubed_precision, self.bcubed_recall)

    def headline(self) -> dict[str, float]:
        return {
            "precision": round(self.precision, 6),
            "recall": round(self.recall, 6),
            "f1": round(self.f1, 6),
            "bcubed_f1": round(self.bcubed_f1, 6),
            "records": self.records,
        }

    def headline_by_group(self) -> dict[str, dict[str, float]]:
        """The headline figures overall ("all") and per group, as the audit trail keeps
        them for the accuracy report."""
        groups = {name: s.headline() for name, s in sorted(self.by_group.items())}
        return {"all": self.headline(), **groups}

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
            "bcubed_precision": round(self.bcubed_precision, 6),
            "bcubed_recall": round(self.bcubed_recall, 6),
            "bcubed_f1": round(self.bcubed_f1, 6),
            "largest_person": self.largest_person,
            "largest_true_entity": self.largest_true_entity,
        }
        if self.by_group:
            figures["by_group"] = {g: s.as_dict() for g, s in sorted(self.by_group.items())}
        if self.assurance_bands:
            figures["purity_by_assurance"] = [band.as_dict() for band in self.assurance_bands]
        return figures


def _harmonic_mean(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


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


def evaluate_resolution(session: Session, truth_path: Path, *, actor: Actor) -> PairwiseScores:
    """Scores of the stored persons against the truth file, overall and per group (reads
    every person: audited as one event).

    A truth record that never reached the store counts as a person of its own, so lost
    records lower recall rather than vanishing from the measure.
    """
    allowed = permit(actor, ResolutionEvaluated)
    truth = read_truth(truth_path)
    person_of = {
        record_id: person_id
        for record_id, person_id in session.execute(
            select(PersonRecord.record_id, PersonRecord.person_id)
        )
    }
    if not person_of:
        raise StateError("no persons yet; run `caseline resolve` first")
    assurance = {
        person_id: value
        for person_id, value in session.execute(select(Person.person_id, Person.assurance))
    }
    bands = purity_by_band(truth, person_of, assurance)
    scores = replace(score_assignments(truth, person_of), assurance_bands=tuple(bands))
    allowed.record(
        session,
        ResolutionEvaluated(
            truth=str(truth_path), records=len(person_of), by_group=scores.headline_by_group()
        ),
    )
    return scores


def score_assignments(truth: list[TruthRecord], person_of: Mapping[str, str]) -> PairwiseScores:
    """Score a record_id -> person (cluster) id mapping against truth, overall and per group.

    Only the records the truth lists are scored; a truth record absent from `person_of`
    counts as a person of its own (and in `missing_records`). Each group is scored over its
    own records, person and entity sizes included. Linear in the records: Counters of
    (entity, person) cells, never a loop over pairs.
    """
    persons = [_person_of(t, person_of) for t in truth]
    entities = [t.entity_id for t in truth]
    members: dict[str, tuple[list[str], list[_Person]]] = {}
    for record, entity, person in zip(truth, entities, persons, strict=True):
        if record.group:
            group_entities, group_persons = members.setdefault(record.group, ([], []))
            group_entities.append(entity)
            group_persons.append(person)
    by_group = {g: _scores(e, p) for g, (e, p) in sorted(members.items())}
    return replace(_scores(entities, persons), by_group=by_group)


# A person id as the mapping gives it, or (_MISSING, record_id) for a truth record that was
# never ingested: a tuple never equals a string, whatever ids the mapping uses.
_Person = str | tuple[str, str]
_MISSING = "missing"
_WHOLE_FLOAT = re.compile(r"^(-?\d+)\.0+$")


def _pairs(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def _scores(entities: list[str], persons: list[_Person]) -> PairwiseScores:
    """Figures for records given as parallel lists of true entity and person."""
    both = Counter(zip(entities, persons, strict=True))
    predicted = Counter(persons)
    true = Counter(entities)
    records = len(entities)
    # Summed per (entity, person) cell: its n records each have precision n/|person|.
    precision = math.fsum(n * n / predicted[p] for (_, p), n in both.items())
    recall = math.fsum(n * n / true[e] for (e, _), n in both.items())
    return PairwiseScores(
        true_positive_pairs=_pairs(both.values()),
        predicted_pairs=_pairs(predicted.values()),
        true_pairs=_pairs(true.values()),
        records=records,
        missing_records=sum(1 for p in predicted if isinstance(p, tuple)),
        bcubed_precision=precision / records if records else 1.0,
        bcubed_recall=recall / records if records else 1.0,
        largest_person=max(predicted.values(), default=0),
        largest_true_entity=max(true.values(), default=0),
    )


def _person_of(truth: TruthRecord, person_of: Mapping[str, str]) -> _Person:
    found = person_of.get(truth.record_id)
    if found is None and truth.alternative_id is not None:
        found = person_of.get(truth.alternative_id)
    return found if found is not None else (_MISSING, truth.record_id)
