"""Measure address confidence against the ground truth, beside two simple rules.

Each true person is judged through the Caseline person that holds most of its records, as
a user would meet it. Figures:

- top-1 accuracy: the most probable address is the true current one;
- Brier score: per person, the squared error summed over its options (each address and
  "unknown"), averaged over persons; a rule that names one address puts probability 1 on it;
- expected calibration error (ECE): over every (person, address), ten equal-width bins of
  the stated probability, the count-weighted gap between stated and observed;
- the ceiling: the share of persons whose current address is on any of their own records
  dated by the reference date (no method names an address it has never seen).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from caseline.errors import InputError
from caseline.oversight import Actor, AddressesEvaluated, permit
from caseline.profiles.address_confidence import score_evidence
from caseline.profiles.address_evidence import address_key, gather_evidence
from caseline.profiles.address_model import AddressModel
from caseline.profiles.address_records import load_address_records
from caseline.resolve.evaluation import TruthRecord, read_truth
from caseline.standardise import InvalidValue
from caseline.standardise.addresses import parse_address_line

CALIBRATION_BINS = 10
METHODS = ("caseline", "most_recent", "most_records")
SMALL_GROUP_PERSONS = 1000  # below this, a group's calibration error is mostly sampling noise


@dataclass(frozen=True, slots=True)
class MethodScores:
    top1_accuracy: float
    brier: float
    ece: float

    def as_dict(self) -> dict[str, float]:
        return {
            "top1_accuracy": round(self.top1_accuracy, 6),
            "brier": round(self.brier, 6),
            "ece": round(self.ece, 6),
        }


@dataclass(frozen=True, slots=True)
class GroupScores:
    persons: int
    ceiling: float
    methods: dict[str, MethodScores]

    def headline(self) -> dict[str, float]:
        """Caseline's figures and the most-recent rule's top-1, as the audit trail keeps
        them for the accuracy report."""
        ours = self.methods["caseline"]
        return {
            "persons": self.persons,
            "top1_accuracy": round(ours.top1_accuracy, 6),
            "brier": round(ours.brier, 6),
            "ece": round(ours.ece, 6),
            "most_recent_top1": round(self.methods["most_recent"].top1_accuracy, 6),
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "persons": self.persons,
            "ceiling": round(self.ceiling, 6),
            **{name: scores.as_dict() for name, scores in self.methods.items()},
        }


@dataclass(frozen=True, slots=True)
class AddressEvaluation:
    as_of: dt.date
    overall: GroupScores
    by_group: dict[str, GroupScores]
    without_current_address: int  # true persons with no current address (left the country)
    unreadable_addresses: list[str]  # where and why, for current addresses that did not parse
    reliability: dict[str, list[tuple[float, float, int]]] = field(default_factory=dict)

    @property
    def targets(self) -> dict[str, bool]:
        """The targets: half the gap to the ceiling closed, a Brier score below the
        most-recent rule's, ECE at most 0.03 overall and in every group, and no group's
        top-1 below the most-recent rule's."""
        methods = self.overall.methods
        return {
            "no_group_below_most_recent": not self.groups_below_most_recent,
            "closes_half_the_gap": self.gap_closed >= 0.5,
            "brier_below_most_recent": methods["caseline"].brier < methods["most_recent"].brier,
            "ece_at_most_0.03": all(
                g.methods["caseline"].ece <= 0.03 for g in (self.overall, *self.by_group.values())
            ),
        }

    @property
    def groups_below_most_recent(self) -> list[str]:
        """Groups whose top-1 is below the most-recent rule's on the same persons."""
        return sorted(
            name
            for name, g in self.by_group.items()
            if g.methods["caseline"].top1_accuracy < g.methods["most_recent"].top1_accuracy
        )

    @property
    def small_groups(self) -> list[str]:
        """Groups too small for their calibration error to mean much."""
        return sorted(n for n, g in self.by_group.items() if g.persons < SMALL_GROUP_PERSONS)

    @property
    def gap_closed(self) -> float:
        """The share of the gap between the better rule's top-1 and the ceiling closed."""
        methods = self.overall.methods
        baseline = max(methods["most_recent"].top1_accuracy, methods["most_records"].top1_accuracy)
        gap = self.overall.ceiling - baseline
        return (methods["caseline"].top1_accuracy - baseline) / gap if gap > 0 else 1.0

    def as_dict(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            **self.overall.as_dict(),
            "gap_closed": round(self.gap_closed, 6),
            "groups_below_most_recent": self.groups_below_most_recent,
            "targets": self.targets,
            "by_group": {name: g.as_dict() for name, g in sorted(self.by_group.items())},
            "without_current_address": self.without_current_address,
            "unreadable_addresses": len(self.unreadable_addresses),
        }


def read_current_addresses(path: Path) -> tuple[dict[str, str | None], list[str]]:
    """entity id -> normalised current address key (None: no current address), and where and
    why each address that could not be read was left out."""
    if not path.is_file():
        raise InputError("no such file", where=str(path))
    current: dict[str, str | None] = {}
    unreadable: list[str] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        column = next((c for c in ("address", "current_address") if c in header), None)
        if "entity_id" not in header or column is None:
            raise InputError("needs columns entity_id and address", where=f"{path}:1")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            entity = (row["entity_id"] or "").strip()
            if not entity:
                raise InputError("empty entity_id", where=where)
            value = (row[column] or "").strip()
            if not value:
                current[entity] = None
                continue
            try:
                parts = parse_address_line(value)
            except InvalidValue as exc:
                unreadable.append(f"{where}: {exc}")
                continue
            current[entity] = address_key(
                parts.street_number, parts.street, parts.unit, parts.postcode
            )
    return current, unreadable


def evaluate_addresses(
    session: Session,
    *,
    truth_path: Path,
    current_path: Path,
    as_of: dt.date,
    model: AddressModel,
    actor: Actor,
) -> AddressEvaluation:
    """Judge every true person's address confidence (reads every person's records: audited
    as one event, with the files and the count)."""
    allowed = permit(actor, AddressesEvaluated)
    truth = read_truth(truth_path)
    current, unreadable = read_current_addresses(current_path)
    records = load_address_records(session)
    judged = _judged_persons(truth, records, current)
    if judged.empty:
        raise InputError(
            "no true person with a current address has records in the store",
            where=str(current_path),
        )
    own_variants = _entity_variants(truth, records, as_of)
    judged["seen"] = [
        key in own_variants.get(entity, ())
        for entity, key in zip(judged["entity_id"], judged["true_key"], strict=True)
    ]
    options = _options(score_evidence(records, as_of, model), judged)
    groups = {
        str(name): _scores(judged[judged["group"] == name], options[options["group"] == name])
        for name in sorted(judged["group"].dropna().unique())
    }
    overall = _scores(judged, options)
    allowed.record(
        session,
        AddressesEvaluated(
            truth=str(truth_path),
            current=str(current_path),
            as_of=as_of.isoformat(),
            persons_judged=len(judged),
            by_group={
                name: scores.headline()
                for name, scores in [("all", overall), *sorted(groups.items())]
            },
        ),
    )
    return AddressEvaluation(
        as_of=as_of,
        overall=overall,
        by_group=groups,
        without_current_address=sum(1 for key in current.values() if key is None),
        unreadable_addresses=unreadable,
        reliability={
            "all": _reliability(options),
            **{
                str(name): _reliability(options[options["group"] == name])
                for name in sorted(judged["group"].dropna().unique())
            },
        },
    )


def _options(evidence: pd.DataFrame, judged: pd.DataFrame) -> pd.DataFrame:
    """One row per (judged true person, candidate address of its Caseline person), with each
    method's probability and whether the address is the true current one."""
    evidence = evidence.assign(
        caseline=evidence["probability"],
        # The record that began last wins: an account's closing date says the person left.
        most_recent=_one_hot(evidence, ["latest_start", "records"]),
        most_records=_one_hot(evidence, ["records", "latest_start"]),
    )
    options = judged[["entity_id", "person_id", "group", "true_key"]].merge(
        evidence[["person_id", "variants", "unknown", *METHODS]], on="person_id"
    )
    options["correct"] = [
        key in variants
        for key, variants in zip(options["true_key"], options["variants"], strict=True)
    ]
    return options


def _one_hot(evidence: pd.DataFrame, by: list[str]) -> np.ndarray:
    """1 on each person's first address when ordered by ``by`` (descending), else 0. The rules
    read the person's own records only: an address known only from leads is never chosen."""
    order = evidence[evidence["lead"] == 0].sort_values(
        ["person_id", *by, "address_key"], ascending=[True, False, False, True]
    )
    chosen = np.zeros(len(evidence))
    chosen[evidence.index.get_indexer(order.drop_duplicates("person_id").index)] = 1.0
    return chosen


def _scores(judged: pd.DataFrame, options: pd.DataFrame) -> GroupScores:
    entities = pd.Index(judged["entity_id"])
    position = entities.get_indexer(options["entity_id"])
    correct = options["correct"].to_numpy(bool)
    truth_listed = np.bincount(position, weights=correct, minlength=len(entities)) > 0
    # A person with no address at all states "unknown" with certainty.
    unknown_of = options.drop_duplicates("person_id").set_index("person_id")["unknown"]
    unknown = judged["person_id"].map(unknown_of).fillna(1.0).to_numpy(float)
    methods = {}
    for method in METHODS:
        p = options[method].to_numpy(float)
        top = _top_choice(position, p, len(entities))
        hit = np.zeros(len(entities), dtype=bool)
        has_top = top >= 0
        has_top[has_top] = p[top[has_top]] > 0  # a rule that chose nothing hits nothing
        hit[has_top] = correct[top[has_top]]
        stated_unknown = unknown if method == "caseline" else np.zeros(len(entities))
        brier = (
            np.bincount(position, weights=(p - correct) ** 2, minlength=len(entities))
            + (stated_unknown - ~truth_listed) ** 2
        )
        methods[method] = MethodScores(
            float(hit.mean()), float(brier.mean()), _calibration_error(p, correct)
        )
    return GroupScores(len(entities), float(judged["seen"].mean()), methods)


def _top_choice(position: np.ndarray, p: np.ndarray, entities: int) -> np.ndarray:
    """Per entity, the row of its most probable option (-1 when it has none)."""
    order = np.lexsort((-p, position))
    top = np.full(entities, -1)
    if not len(order):
        return top
    first = np.r_[True, np.diff(position[order]) != 0]
    top[position[order][first]] = order[first]
    return top


def _calibration_error(stated: np.ndarray, observed: np.ndarray) -> float:
    if not len(stated):
        return 0.0
    bins = np.minimum((stated * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    stated_sum = np.bincount(bins, weights=stated, minlength=CALIBRATION_BINS)
    observed_sum = np.bincount(bins, weights=observed.astype(float), minlength=CALIBRATION_BINS)
    return float(np.abs(stated_sum - observed_sum).sum() / len(stated))


def _reliability(options: pd.DataFrame) -> list[tuple[float, float, int]]:
    """Per bin: mean stated probability, observed share, count (Caseline's probabilities)."""
    stated = options["caseline"].to_numpy(float)
    observed = options["correct"].to_numpy(float)
    bins = np.minimum((stated * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    points = []
    for b in range(CALIBRATION_BINS):
        inside = bins == b
        if inside.any():
            points.append(
                (float(stated[inside].mean()), float(observed[inside].mean()), int(inside.sum()))
            )
    return points


def _judged_persons(
    truth: list[TruthRecord], records: pd.DataFrame, current: dict[str, str | None]
) -> pd.DataFrame:
    """Per true person with a current address and a record in some person: the person that
    holds most of its records (ties: the smaller id), its group and its true address key."""
    own = records[records["lead"] == 0]  # a lead is a copy of another person's record
    person_of = dict(zip(own["record_id"], own["person_id"], strict=True))
    held: dict[str, Counter[str]] = defaultdict(Counter)
    group_of: dict[str, str | None] = {}
    for t in truth:
        person = person_of.get(t.record_id) or (
            person_of.get(t.alternative_id) if t.alternative_id else None
        )
        group_of.setdefault(t.entity_id, t.group)
        if person is not None:
            held[t.entity_id][person] += 1
    rows = [
        (
            entity,
            min(counts.items(), key=lambda item: (-item[1], item[0]))[0],
            group_of[entity],
            current[entity],
        )
        for entity, counts in sorted(held.items())
        if current.get(entity) is not None
    ]
    return pd.DataFrame(rows, columns=["entity_id", "person_id", "group", "true_key"])


def _entity_variants(
    truth: list[TruthRecord], records: pd.DataFrame, as_of: dt.date
) -> dict[str, set[str]]:
    """entity id -> every address key on its own records dated by ``as_of``."""
    entity_of = {t.record_id: t.entity_id for t in truth}
    entity_of.update({t.alternative_id: t.entity_id for t in truth if t.alternative_id})
    own = records[records["lead"] == 0]
    own = own.assign(person_id=own["record_id"].map(entity_of)).dropna(subset=["person_id"])
    evidence = gather_evidence(own, as_of)
    variants: dict[str, set[str]] = defaultdict(set)
    for entity, keys in zip(evidence["person_id"], evidence["variants"], strict=True):
        variants[entity].update(keys)
    return variants


def labelled_evidence(
    session: Session, *, truth_path: Path, current_path: Path, as_of: dt.date
) -> tuple[pd.DataFrame, np.ndarray]:
    """The evidence of each person judged against a true person, and which of its rows is the
    true current address: what the address model is fitted on."""
    truth = read_truth(truth_path)
    current, _unreadable = read_current_addresses(current_path)
    records = load_address_records(session)
    judged = _judged_persons(truth, records, current)
    # A person two true persons lead to is labelled by the first.
    true_key_of = dict(judged.drop_duplicates("person_id")[["person_id", "true_key"]].to_numpy())
    evidence = gather_evidence(records[records["person_id"].isin(true_key_of)], as_of)
    labels = np.array(
        [
            true_key_of[person] in variants
            for person, variants in zip(evidence["person_id"], evidence["variants"], strict=True)
        ]
    )
    return evidence, labels
