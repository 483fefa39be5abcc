"""Identity assurance: how sure resolution is that a person's records are all one person.

It is read from the resolution itself, per person:
- the weakest link: the strongest chain of links joining every record must pass through
  some link, and the weakest of those (the bottleneck of the maximum spanning tree) is how
  far the person is only as strong as one comparison;
- how many links each record has (a chain is more fragile than a web);
- conflicting identifiers: two SSNs, two A-numbers, two ITINs in one person;
- conflicting dates of birth (beyond a swapped day and month);
- size.

A logistic model turns these into the probability that the person is pure (holds no
other person's records), fitted against a generated world's ground truth
(`benchmarks/assurance_model.py`) and shipped as `assurance_model.json`. A single record is
pure by construction. Purity by assurance band is reported by `caseline evaluate`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree

from caseline.shipped import read_versioned_json

ASSURANCE_VERSION = "caseline-assurance-0.1"
IDENTIFIER_COLUMNS = ("ssn_hash", "itin_hash", "a_number_hash")
FEATURES = (
    "bias",
    "weakest_link_weight",  # match weight of the weakest link, capped at 30
    "links_per_record",  # log(links / (records - 1))
    "conflicting_identifiers",  # identifier kinds with two or more values
    "extra_dates_of_birth",  # distinct dates of birth beyond one, swaps merged
    "records",  # log(records)
)
WEIGHT_CAP = 30.0
REVIEWER_LINK_WEIGHT = WEIGHT_CAP  # a must-link counts as a link as strong as any


@dataclass(frozen=True, slots=True)
class AssuranceEvidence:
    records: int
    weakest_link_weight: float | None  # None for a single record
    links: int
    conflicting_identifiers: tuple[str, ...]
    dates_of_birth: int
    assurance: float = 1.0

    @property
    def weakest_link_probability(self) -> float | None:
        if self.weakest_link_weight is None:
            return None
        return 1 / (1 + 2 ** (-self.weakest_link_weight))

    def as_json(self) -> dict[str, Any]:
        stored = asdict(self)
        stored["conflicting_identifiers"] = list(self.conflicting_identifiers)
        return stored

    def features(self) -> np.ndarray:
        # A person of several records with no link on record is as weak as a link can be.
        weakest = 0.0 if self.weakest_link_weight is None else self.weakest_link_weight
        weakest = min(weakest, WEIGHT_CAP)
        return np.array(
            [
                1.0,
                weakest,
                math.log(max(self.links, 1) / max(self.records - 1, 1)),
                float(len(self.conflicting_identifiers)),
                float(max(self.dates_of_birth - 1, 0)),
                math.log(self.records),
            ]
        )


def gather_assurance_evidence(
    records: pd.DataFrame, clusters: Sequence[np.ndarray], links: pd.DataFrame
) -> list[AssuranceEvidence]:
    """Per cluster (arrays of record positions in ``records``), the evidence for its purity.

    ``links`` holds (left, right, weight) by position: the scored links and reviewers'
    must-links, which count as the strongest links there are.
    """
    label = np.full(len(records), -1, dtype=np.int64)
    for index, members in enumerate(clusters):
        label[members] = index
    inside = links[label[links["left"].to_numpy()] == label[links["right"].to_numpy()]]
    weakest = _weakest_links(inside, label, len(records), len(clusters))
    link_counts = np.bincount(label[inside["left"].to_numpy()], minlength=len(clusters))
    conflicts = _conflicting_identifiers(records, label, len(clusters))
    births = _distinct_dates_of_birth(records, label, len(clusters))
    return [
        AssuranceEvidence(
            records=len(members),
            weakest_link_weight=(
                round(float(weakest[i]), 3)
                if len(members) > 1 and np.isfinite(weakest[i])
                else None
            ),
            links=int(link_counts[i]),
            conflicting_identifiers=conflicts.get(i, ()),
            dates_of_birth=int(births[i]),
        )
        for i, members in enumerate(clusters)
    ]


def _weakest_links(links: pd.DataFrame, label: np.ndarray, n: int, clusters: int) -> np.ndarray:
    """Per cluster, the lowest weight on its maximum spanning tree (inf if it has none)."""
    lowest = np.full(clusters, np.inf)
    if links.empty:
        return lowest
    left = links["left"].to_numpy(np.int64)
    right = links["right"].to_numpy(np.int64)
    weights = np.minimum(links["weight"].to_numpy(float), WEIGHT_CAP)
    # One edge per pair (a reviewer's must-link may repeat a scored link): the stronger.
    pair = left * n + right
    order = np.lexsort((-weights, pair))
    ordered = pair[order]
    first = order[np.r_[True, ordered[1:] != ordered[:-1]]]
    # A maximum spanning tree is a minimum one over costs that fall as weights rise.
    costs = WEIGHT_CAP + 1.0 - weights[first]
    graph = coo_matrix((costs, (left[first], right[first])), shape=(n, n)).tocsr()
    tree = minimum_spanning_tree(graph).tocoo()
    np.minimum.at(lowest, label[tree.row], WEIGHT_CAP + 1.0 - tree.data)
    return lowest


def _conflicting_identifiers(
    records: pd.DataFrame, label: np.ndarray, clusters: int
) -> dict[int, tuple[str, ...]]:
    conflicts: dict[int, list[str]] = {}
    for column in IDENTIFIER_COLUMNS:
        if column in records.columns:
            distinct = _distinct_per_cluster(records[column], label, clusters)
            for cluster in np.flatnonzero(distinct > 1).tolist():
                conflicts.setdefault(cluster, []).append(column.removesuffix("_hash"))
    return {cluster: tuple(kinds) for cluster, kinds in conflicts.items()}


def _distinct_dates_of_birth(records: pd.DataFrame, label: np.ndarray, clusters: int) -> np.ndarray:
    """Distinct dates of birth per cluster, a date and its day/month swap counted once."""
    if "date_of_birth" not in records.columns:
        return np.zeros(clusters, dtype=np.int64)
    dates = pa.array(records["date_of_birth"].astype(object), type=pa.string(), from_pandas=True)
    # 'YYYY-MM-DD' and its swap share one key: the year and the sorted month/day pair.
    first, second = pc.utf8_slice_codeunits(dates, 5, 7), pc.utf8_slice_codeunits(dates, 8, 10)
    key = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(dates, 0, 4),
        pc.min_element_wise(first, second),
        pc.max_element_wise(first, second),
        "",
    )
    return _distinct_per_cluster(pd.Series(key.to_numpy(zero_copy_only=False)), label, clusters)


def _distinct_per_cluster(values: pd.Series, label: np.ndarray, clusters: int) -> np.ndarray:
    """How many distinct filled ``values`` each cluster's records hold (``label``: each
    record's cluster, -1 for none)."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))  # a missing value is -1
    held = (codes >= 0) & (label >= 0)
    pairs = np.unique(label[held].astype(np.int64) * max(len(uniques), 1) + codes[held])
    return np.bincount(pairs // max(len(uniques), 1), minlength=clusters)


@dataclass(frozen=True, slots=True)
class AssuranceModel:
    weights: np.ndarray
    trained_on: dict[str, Any]

    def assess(self, evidence: AssuranceEvidence) -> AssuranceEvidence:
        if evidence.records == 1:
            return evidence
        score = float(evidence.features() @ self.weights)
        assurance = 1 / (1 + math.exp(-score))
        return AssuranceEvidence(
            evidence.records,
            evidence.weakest_link_weight,
            evidence.links,
            evidence.conflicting_identifiers,
            evidence.dates_of_birth,
            round(assurance, 4),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "version": ASSURANCE_VERSION,
            "weights": dict(zip(FEATURES, self.weights.tolist(), strict=True)),
            "trained_on": self.trained_on,
        }


def load_assurance_model(path: Path | None = None) -> AssuranceModel:
    """The model at ``path``, or the one shipped with Caseline."""
    stored = read_versioned_json(
        path, package="caseline.resolve", name="assurance_model.json", version=ASSURANCE_VERSION
    )
    return AssuranceModel(
        np.array([stored["weights"][name] for name in FEATURES]), stored.get("trained_on", {})
    )


def fit_assurance_model(
    evidence: Sequence[AssuranceEvidence], pure: Sequence[bool], trained_on: dict[str, Any]
) -> AssuranceModel:
    """Logistic regression of purity on the evidence of the multi-record persons."""
    from scipy.optimize import minimize

    chosen = [(e, p) for e, p in zip(evidence, pure, strict=True) if e.records > 1]
    x = np.array([e.features() for e, _ in chosen])
    y = np.array([float(p) for _, p in chosen])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        nll = np.logaddexp(0, z).sum() - (y * z).sum() + 1e-3 * (w @ w)
        grad = x.T @ (1 / (1 + np.exp(-z)) - y) + 2e-3 * w
        return float(nll / len(y)), grad / len(y)

    result = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B")
    return AssuranceModel(
        result.x, trained_on | {"persons": len(y), "impure": int(len(y) - y.sum())}
    )
