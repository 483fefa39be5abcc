"""Blocking pair recall: the share of true pairs a linker's blocking rules make directly, and
the share they join through other records (reachable), for benchmarks/resolution.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from caseline.resolve.evaluation import read_truth


def truth_table(truth_path: Path, record_ids: pd.Series) -> pd.DataFrame:
    """record_id, entity_id and a dense integer index, for the truth records in the frame."""
    truth = read_truth(truth_path)
    table = pd.DataFrame(
        {"record_id": [t.record_id for t in truth], "entity_id": [t.entity_id for t in truth]}
    )
    table = table[table["record_id"].isin(set(record_ids))].reset_index(drop=True)
    table["node"] = np.arange(len(table), dtype=np.int64)
    return table


def blocking_recall(linker: Any, truth: pd.DataFrame) -> dict[str, Any]:
    """Share of true pairs that the linker's prediction rules generate, and the share whose
    two records are connected through generated true pairs (the ceiling for any clustering).

    Counted in the linker's DuckDB: the blocked pairs are joined to the truth on both sides,
    and only the true candidate pairs leave it, as two integer arrays.
    """
    blocked = linker.inference.compute_blocked_pairs_for_predict().physical_name
    linker.table_management.register_table(
        pa.Table.from_pandas(truth, preserve_index=False), "__benchmark_truth", overwrite=True
    )
    candidates = int(
        linker.misc.query_sql(
            f"SELECT count(*) AS n FROM {blocked}",  # noqa: S608
            output_type="pandas",
        )["n"].iloc[0]
    )
    edges = linker.misc.query_sql(
        "SELECT tl.node AS l, tr.node AS r "  # noqa: S608 (Splink's table name)
        f"FROM {blocked} AS p "
        "JOIN __benchmark_truth AS tl ON p.join_key_l = tl.record_id "
        "JOIN __benchmark_truth AS tr ON p.join_key_r = tr.record_id "
        "WHERE tl.entity_id = tr.entity_id",
        output_type="pandas",
    )
    left, right = edges["l"].to_numpy(np.int64), edges["r"].to_numpy(np.int64)
    true_pairs = _pairs(truth.groupby("entity_id").size().to_numpy())
    return {"candidate_pairs": candidates, **recall_figures(true_pairs, len(truth), left, right)}


def recall_figures(
    true_pairs: int, records: int, left: np.ndarray, right: np.ndarray
) -> dict[str, Any]:
    """Pair and reachable recall, given the true pairs (``left``, ``right``: record numbers
    below ``records``) that the rules generate out of ``true_pairs``."""
    reachable = _pairs(np.bincount(_components(records, left, right)))
    return {
        "true_pairs": true_pairs,
        "true_candidate_pairs": len(left),
        "pair_recall": len(left) / true_pairs if true_pairs else 1.0,
        "reachable_pairs": reachable,
        "reachable_recall": reachable / true_pairs if true_pairs else 1.0,
    }


def _pairs(sizes: np.ndarray) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def _components(nodes: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components by minimum-label propagation with pointer jumping."""
    label = np.arange(nodes, dtype=np.int64)
    while True:
        low = np.minimum(label[left], label[right])
        new = label.copy()
        np.minimum.at(new, left, low)
        np.minimum.at(new, right, low)
        new = new[new]
        if np.array_equal(new, label):
            return label
        label = new
