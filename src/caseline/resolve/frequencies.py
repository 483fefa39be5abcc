"""Term frequencies that do not count a person's own records as other people's.

Splink weighs an agreement on a value by how often the value occurs: the pair's match
weight for that level becomes log2(m / tf), where tf is the value's share of the records.
But a value's count includes the records of the very person the pair may belong to: a
name only one person holds, written in their ten records, looks ten times as common as it
is to a stranger. Caseline's u is measured without the matches among random pairs
(`model.without_matches`), so the level says how often *two people* agree; counted over
records, tf does not, and in data where each person has several records a rare name comes
out weaker than the level's average (Febrl1: WILLOW RYAN, the same name and date of birth
in both records, scored below the threshold).

So each value's share is taken with the pair's own two records left out, ``count - 2``
(what a stranger could hold), and never below the share scaled as the level's u is
scaled: ``scale * count``, with ``scale`` the level's u over the share of random pairs
that agree on the column counting matches (the mean of ``count * (count - 1)`` over
every pair of records), at most 1. A common name keeps nearly its count; a name held only
by the pair gets the level's own ratio. The scale is learned with the model on each full
run and kept in it (``SCALES_KEY``), so incremental runs and explanations use the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

SCALES_KEY = "caseline_frequency_scales"
PAIR = 2  # the two records of the pair being scored


def frequency_scales(model: Mapping[str, Any], counts: Mapping[str, pd.Series]) -> dict[str, float]:
    """Per frequency column, the scale (see the module docstring) from its value ``counts``
    and the u of the model's level adjusted by that column."""
    scales = {}
    for column, counted in counts.items():
        total = int(counted.sum())
        agreeing = (
            float((counted * (counted - 1)).sum()) / (total * (total - 1)) if total > 1 else 0
        )
        u = _level_u(model, column)
        scales[column] = min(1.0, u / agreeing) if u and agreeing > 0 else 1.0
    return scales


def scales_of(saved: Mapping[str, Any]) -> dict[str, float]:
    """The scales by column kept in a saved model (its JSON object); none for a model saved
    before they were kept, whose callers take 1.0 (the plain counts)."""
    kept: dict[str, float] = saved.get(SCALES_KEY) or {}
    return kept


def share(count: Any, total: float, scale: float) -> Any:
    """A value held by ``count`` of ``total`` records, as a stranger's share (``count`` a
    number or a numpy array of them)."""
    return np.maximum(scale * count, count - PAIR) / total


def share_sql(count: str, total: str, scale: float) -> str:
    """`share` in SQL, over the expressions ``count`` and ``total``."""
    return f"greatest({float(scale)!r} * ({count}), ({count}) - {PAIR}) / ({total})"


def frequency_table(
    column: str, counted: pd.Series, scale: float, prefix: str = "tf_"
) -> pd.DataFrame:
    """Splink's term-frequency table for ``column`` from its value counts."""
    counts = counted.to_numpy(dtype=float)
    return pd.DataFrame(
        {column: counted.index, f"{prefix}{column}": share(counts, counts.sum(), scale)}
    )


def _level_u(model: Mapping[str, Any], column: str) -> float | None:
    for comparison in model.get("comparisons", []):
        for level in comparison["comparison_levels"]:
            if level.get("tf_adjustment_column") == column:
                u = level.get("u_probability")
                return float(u) if isinstance(u, int | float) else None
    return None
