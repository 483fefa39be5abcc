"""Score every pair inside the persons that weak links would build, before they are final.

Blocking compares only the pairs that share a key, so one weak link can join two groups
whose cross pairs were never compared: a name-only utility record that links to two
relatives in one ZIP code bridges them, and no veto can fire on pairs nobody scored. So each
candidate person that rests on a weak link has all its pairs scored with the same model and
the same term frequencies, and the candidate is clustered again with them.

A pair inside a candidate that blocking never proposed shares no key, and two records of one
person can have little in common (an old utility account and this year's tax return). So
such a pair vetoes only when the evidence against it is overwhelming: its Bayes factors sum
to ``CHECK_VETO_BELOW_PRIOR`` or less, beyond what two random records start with.
Measured: a mean-weight rule, or a veto at -10, split true persons (recall 0.90 from 0.94).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from caseline.resolve import engine as engines

# A candidate person whose every link is at least this strong (match probability 0.9999)
# is not checked: its links are each decisive on their own.
SURE_WEIGHT = 13.3
# The pairs of a candidate grow with the square of its size; beyond this size the vetoes
# that blocking found must do.
MAX_CHECKED_RECORDS = 120
CHECK_COLUMN = "caseline_check_group"
CHECK_VETO_BELOW_PRIOR = 14.0


def candidates_to_check(clusters: Sequence[np.ndarray], links: pd.DataFrame) -> list[np.ndarray]:
    """The candidate persons (arrays of record positions) of three or more records that a
    link weaker than ``SURE_WEIGHT`` holds together (a pair's only pair is its link)."""
    sizes = np.array([len(c) for c in clusters])
    if not len(sizes) or sizes.max() < 3:
        return []
    label = np.full(int(max(c.max() for c in clusters if len(c))) + 1, -1, dtype=np.int64)
    for index, members in enumerate(clusters):
        label[members] = index
    left, right = links["left"].to_numpy(), links["right"].to_numpy()
    inside = label[left] == label[right]
    weak = inside & (links["weight"].to_numpy(float) < SURE_WEIGHT)
    flagged = set(np.unique(label[left[weak]]).tolist())
    return [clusters[i] for i in sorted(flagged) if 3 <= sizes[i] <= MAX_CHECKED_RECORDS]


def score_within(
    records: pd.DataFrame,
    candidates: Sequence[np.ndarray],
    model: dict[str, Any],
    engine: str,
    frequencies: dict[str, pd.DataFrame],
) -> pd.DataFrame:
    """(left, right, weight) for every pair inside each candidate, ``records`` numbered as
    the engine sees them (``unique_id`` is the position)."""
    members = np.concatenate(candidates)
    group = np.concatenate([np.full(len(c), i) for i, c in enumerate(candidates)])
    subset = records.iloc[members].assign(**{CHECK_COLUMN: group})
    settings = copy.deepcopy(model)
    # Unquoted, in no dialect of its own: the same text reads right in DuckDB and Spark.
    settings["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": f"l.{CHECK_COLUMN} = r.{CHECK_COLUMN}"}
    ]
    linker = engines.create_linker(subset, settings, engine)
    engines.register_term_frequencies(linker, frequencies)
    predictions = linker.inference.predict()
    sql = (
        "SELECT unique_id_l AS left, unique_id_r AS right, match_weight AS weight "  # noqa: S608
        f"FROM {predictions.physical_name}"
    )
    pairs: pd.DataFrame = linker.misc.query_sql(sql, output_type="pandas")
    return pairs.astype({"left": np.int64, "right": np.int64, "weight": float})


def term_frequencies(records: pd.DataFrame, columns: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Each value's share of the filled values of its column, over every record: the table
    Splink would compute from the whole input."""
    tables = {}
    for column in columns:
        shares = records[column].dropna().value_counts(normalize=True)
        tables[column] = pd.DataFrame({column: shares.index, f"tf_{column}": shares.to_numpy()})
    return tables
