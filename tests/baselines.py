"""What resolution's accuracy is measured beside, at the same match threshold.

- Connected components of the links Caseline's clustering is given (the same scored pairs):
  what the clustering would be without its vetoes and its cross-check.
- Vanilla Splink, trained and clustered as the benchmark runs it
  (`benchmarks/vanilla_splink.py`: Splink's tutorial recipe for a dedupe, on Caseline's
  input columns).

A test compares Caseline with these rather than with a fixed figure: a floor fitted to one
generated world passes a resolver that got worse and fails one that is fine on another seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from benchmarks.vanilla_splink import SPLINK_PREDICT_FLOOR, train_vanilla, vanilla_linker
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from caseline.resolve import linking


def relinked(
    frame: pd.DataFrame, model: Any, threshold: float
) -> tuple[list[list[str]], dict[str, str]]:
    """Link ``frame`` again with a saved ``model``: Caseline's persons (lists of record ids),
    and record id -> component for the connected components of the links its clustering
    was first given."""
    given: list[pd.DataFrame] = []
    cluster_pairs = linking.cluster_pairs

    def recording(records: Any, links: pd.DataFrame, *args: Any, **kwargs: Any) -> Any:
        given.append(links)
        return cluster_pairs(records, links, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(linking, "cluster_pairs", recording)
        linkage = linking.link_records(frame, threshold=threshold, model=model)
    ids = linkage.records["unique_id"].to_numpy()
    links = given[0]  # the first clustering's: every scored pair at or above the threshold
    graph = coo_matrix(
        (np.ones(len(links)), (links["left"].to_numpy(), links["right"].to_numpy())),
        shape=(len(ids), len(ids)),
    )
    _, component = connected_components(graph, directed=False)
    return linkage.clusters, dict(zip(ids, component.astype(str), strict=True))


def vanilla_splink(frame: pd.DataFrame, threshold: float) -> dict[str, str]:
    """Record id -> person as vanilla Splink finds them at ``threshold``."""
    linker = vanilla_linker(frame)
    train_vanilla(linker, dated=bool(frame["date_of_birth"].notna().any()))
    predictions = linker.inference.predict(threshold_match_probability=SPLINK_PREDICT_FLOOR)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    ).as_pandas_dataframe()
    return dict(zip(clusters["unique_id"], clusters["cluster_id"].astype(str), strict=True))


def person_of(persons: list[list[str]]) -> dict[str, str]:
    """Record id -> person (its first record id), for persons given as lists of record ids."""
    return {record: records[0] for records in persons for record in records}
