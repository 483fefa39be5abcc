"""The pairs a resolution run is least sure of, kept for reviewers (the review queue).

A run scores every blocked pair and then forgets them; this keeps the few worth a person's
look, so that the review queue need not score anything again:

- ``near_threshold``: pairs whose match probability lies in the band from
  ``threshold - BAND_BELOW`` to ``threshold + BAND_ABOVE`` (0.6 to 0.95 at the default 0.8),
  linked or not. The band reaches further below than above: a missed link hides a person's
  record from whoever reads them, and the pairs just below the line are the ones the model
  nearly linked. Nearest to the threshold (by match weight) first.
- ``low_assurance``: for each person whose identity assurance is below ``LOW_ASSURANCE_BELOW``
  (the default identity threshold a case needs), the weakest link holding them together: the
  lowest link on the maximum spanning tree of their links, the one whose loss would split
  them first. Lowest assurance first.

Weakest links come first in the queue, then the pairs near the threshold. At most
``REVIEW_CAP`` pairs a run (half of them kept for weakest links), so that a run of a
million records stays cheap; a pair both near the threshold and a weakest link is kept once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from caseline.db.models import PersonRecord, ReviewPair
from caseline.resolve.assurance import AssuranceEvidence
from caseline.resolve.model import match_weight

if TYPE_CHECKING:
    from splink import Linker
    from splink.internals.splink_dataframe import SplinkDataFrame

BAND_BELOW = 0.2
BAND_ABOVE = 0.15
LOW_ASSURANCE_BELOW = 0.9  # as Settings.identity_threshold by default
REVIEW_CAP = 5_000
NEAR_THRESHOLD = "near_threshold"
LOW_ASSURANCE = "low_assurance"
COLUMNS = ["left", "right", "match_probability", "why"]
_LOOKUP_CHUNK = 500


def probability_band(threshold: float) -> tuple[float, float]:
    """The match probabilities a near-threshold pair lies between (inclusive)."""
    return max(threshold - BAND_BELOW, 0.0), min(threshold + BAND_ABOVE, 1.0)


def uncertain_pairs(
    linker: Linker,
    predictions: SplinkDataFrame,
    *,
    threshold: float,
    record_ids: np.ndarray,
    members: Sequence[np.ndarray],
    assurance: Sequence[AssuranceEvidence],
    links: pd.DataFrame,
    low_assurance_below: float = LOW_ASSURANCE_BELOW,
    cap: int = REVIEW_CAP,
) -> pd.DataFrame:
    """The pairs to review (left, right record ids, match_probability, why), in queue order.

    ``record_ids`` maps the engine's record positions to ids; ``members`` are the persons as
    arrays of positions, with their ``assurance`` in the same order; ``links`` the scored
    links (left, right, weight) by position.
    """
    weakest = weakest_links(members, assurance, links, low_assurance_below, cap // 2)
    near = _near_threshold(linker, predictions, threshold, cap - len(weakest))
    frame = pd.concat([weakest, near], ignore_index=True)
    if frame.empty:
        return pd.DataFrame({c: [] for c in COLUMNS})
    left = record_ids[frame["left"].to_numpy(np.int64)]
    right = record_ids[frame["right"].to_numpy(np.int64)]
    pairs = pd.DataFrame(
        {
            "left": np.where(left < right, left, right),
            "right": np.where(left < right, right, left),
            "match_probability": frame["match_probability"].astype(float).to_numpy(),
            "why": frame["why"].to_numpy(),
        }
    )
    return pairs.drop_duplicates(["left", "right"]).reset_index(drop=True)


def _near_threshold(
    linker: Linker, predictions: SplinkDataFrame, threshold: float, limit: int
) -> pd.DataFrame:
    if limit <= 0:
        return pd.DataFrame({c: [] for c in COLUMNS})
    low, high = probability_band(threshold)
    # Only Splink's own table name and numbers are interpolated.
    sql = (
        "SELECT unique_id_l AS left, unique_id_r AS right, match_probability "  # noqa: S608
        f"FROM {predictions.physical_name} "
        f"WHERE match_probability >= {low!r} AND match_probability <= {high!r} "
        f"ORDER BY abs(match_weight - {match_weight(threshold)!r}), unique_id_l, unique_id_r "
        f"LIMIT {int(limit)}"
    )
    near = linker.misc.query_sql(sql, output_type="pandas")
    return near.assign(why=NEAR_THRESHOLD)


def weakest_links(
    members: Sequence[np.ndarray],
    assurance: Sequence[AssuranceEvidence],
    links: pd.DataFrame,
    below: float,
    limit: int,
) -> pd.DataFrame:
    """Per person of several records with assurance under ``below`` (lowest first, at most
    ``limit``), the lowest link of the maximum spanning tree of its ``links``."""
    chosen = sorted(
        (evidence.assurance, index)
        for index, (cluster, evidence) in enumerate(zip(members, assurance, strict=True))
        if len(cluster) > 1 and evidence.assurance < below
    )[: max(limit, 0)]
    if not chosen or links.empty:
        return pd.DataFrame({c: [] for c in COLUMNS})
    size = int(max(int(members[i].max()) for _, i in chosen)) + 1
    label = np.full(max(size, int(links[["left", "right"]].to_numpy().max()) + 1), -1)
    for _, index in chosen:
        label[members[index]] = index
    left = links["left"].to_numpy(np.int64)
    right = links["right"].to_numpy(np.int64)
    inside = (label[left] >= 0) & (label[left] == label[right])
    edges = links[inside].sort_values("weight", ascending=False, kind="stable")
    bottleneck = _bottlenecks(
        zip(
            edges["left"].to_numpy(np.int64).tolist(),
            edges["right"].to_numpy(np.int64).tolist(),
            edges["weight"].to_numpy(float).tolist(),
            strict=True,
        ),
        label,
    )
    rows = [
        (*bottleneck[index][:2], 1 / (1 + 2 ** (-bottleneck[index][2])), LOW_ASSURANCE)
        for _, index in chosen
        if index in bottleneck
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def _bottlenecks(
    edges: Iterable[tuple[int, int, float]], label: np.ndarray
) -> dict[int, tuple[int, int, float]]:
    """Kruskal over edges strongest first: per cluster, the last edge that joined two parts."""
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        while parent.get(node, node) != node:
            parent[node] = parent.get(parent[node], parent[node])
            node = parent[node]
        return node

    last: dict[int, tuple[int, int, float]] = {}
    for left, right, weight in edges:
        a, b = root(left), root(right)
        if a != b:
            parent[a] = b
            last[int(label[left])] = (left, right, weight)
    return last


def store_review_pairs(session: Session, run_id: int, pairs: pd.DataFrame) -> int:
    """Store a run's pairs to review, in order, with the persons now holding each record."""
    if pairs.empty:
        return 0
    ids = sorted(set(pairs["left"]) | set(pairs["right"]))
    holder = _holders(session, ids)
    session.execute(
        insert(ReviewPair),
        [
            {
                "resolution_run_id": run_id,
                "rank": rank,
                "left_record_id": left,
                "right_record_id": right,
                "match_probability": round(float(probability), 6),
                "why": why,
                "left_person_id": holder.get(left),
                "right_person_id": holder.get(right),
            }
            for rank, (left, right, probability, why) in enumerate(
                pairs[COLUMNS].itertuples(index=False, name=None)
            )
        ],
    )
    return len(pairs)


def _holders(session: Session, record_ids: Sequence[str]) -> Mapping[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(record_ids), _LOOKUP_CHUNK):
        chunk = record_ids[start : start + _LOOKUP_CHUNK]
        rows = session.execute(
            select(PersonRecord.record_id, PersonRecord.person_id).where(
                PersonRecord.record_id.in_(chunk)
            )
        )
        found.update((record_id, person_id) for record_id, person_id in rows)
    return found
