"""Score every pair inside the persons that weak links would build, before they are final.

Blocking compares only the pairs that share a key, so one weak link can join two groups
whose cross pairs were never compared: a name-only utility record that links to two
relatives in one ZIP code bridges them, and no veto can fire on pairs nobody scored. So each
candidate person that rests on a weak link has all its pairs scored, and the candidate is
clustered again with them. Most of those pairs blocking made and scoring weighed already;
only the rest are scored now, by the same linker (the same model, the same term frequencies).

A pair inside a candidate that blocking never proposed shares no key, and two records of one
person can have little in common (an old utility account and this year's tax return). So
such a pair vetoes only when the evidence against it is overwhelming: its Bayes factors sum
to ``CHECK_VETO_BELOW_PRIOR`` or less, beyond what two random records start with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from splink import Linker

from caseline.resolve.engine import Engine

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame

# A candidate person whose every link is at least this strong (match probability 0.9999)
# is not checked: its links are each decisive on their own.
SURE_WEIGHT = 13.3
# The pairs of a candidate grow with the square of its size; beyond this size (half a
# million pairs) the vetoes that blocking found must do. The largest candidates are the
# likeliest to hold several people: with no date of birth in the data, namesakes of one
# family chain into a candidate of hundreds of records.
MAX_CHECKED_RECORDS = 1000
CHECK_VETO_BELOW_PRIOR = 14.0


def candidates_to_check(clusters: Sequence[np.ndarray], links: pd.DataFrame) -> list[np.ndarray]:
    """The candidate persons (arrays of record positions) of three or more records that a
    link weaker than ``SURE_WEIGHT`` holds together (a pair's only pair is its link)."""
    sizes = np.array([len(c) for c in clusters])
    if not len(sizes) or sizes.max() < 3:
        return []
    label = _labels(clusters, int(max(c.max() for c in clusters if len(c))) + 1)
    left, right = links["left"].to_numpy(), links["right"].to_numpy()
    inside = label[left] == label[right]
    weak = inside & (links["weight"].to_numpy(float) < SURE_WEIGHT)
    flagged = set(np.unique(label[left[weak]]).tolist())
    return [clusters[i] for i in sorted(flagged) if 3 <= sizes[i] <= MAX_CHECKED_RECORDS]


def score_within(
    candidates: Sequence[np.ndarray],
    decisive: pd.DataFrame,
    linker: Linker,
    predictions: SplinkDataFrame,
    engine: Engine,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pairs (left, right, weight) inside each candidate that can decide anything: those
    among the ``decisive`` pairs scoring found (links and vetoes, with their weights), and
    every pair that blocking never made, scored now by the ``linker`` that made
    ``predictions``, with the same model and term frequencies. Records are numbered as the
    engine sees them (``unique_id`` is the position)."""
    members = np.concatenate(candidates).astype(np.int64)
    left = decisive["left"].to_numpy(np.int64)
    right = decisive["right"].to_numpy(np.int64)
    label = _labels(
        candidates, int(max(members.max(), left.max(initial=0), right.max(initial=0))) + 1
    )
    inside = (label[left] >= 0) & (label[left] == label[right])
    groups = pd.DataFrame({"unique_id": members, "group": label[members]})
    unscored = engine.score_unscored_within(linker, predictions, groups)
    return decisive.loc[inside, ["left", "right", "weight"]].reset_index(drop=True), unscored


def _labels(groups: Sequence[np.ndarray], size: int) -> np.ndarray:
    """Each record position below ``size``: the index of the group holding it, or -1."""
    label = np.full(size, -1, dtype=np.int64)
    for index, members in enumerate(groups):
        label[members] = index
    return label
