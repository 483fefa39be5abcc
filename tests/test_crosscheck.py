import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest

from caseline.config import Settings
from caseline.db import Database
from caseline.resolve.crosscheck import (
    MAX_CHECKED_RECORDS,
    SURE_WEIGHT,
    candidates_to_check,
    score_within,
)
from caseline.resolve.engine import create_linker
from caseline.resolve.features import add_features
from caseline.resolve.model import load_model
from caseline.resolve.records import load_model_frame


def test_only_persons_of_three_or_more_held_by_a_weak_link_are_checked() -> None:
    weak, sure = SURE_WEIGHT - 5, SURE_WEIGHT + 5
    clusters = [
        np.array([0, 1, 2]),  # a weak link holds it: checked
        np.array([3, 4, 5]),  # every link is decisive alone: not checked
        np.array([6, 7]),  # a pair's only pair is its link: not checked
        np.arange(8, 8 + MAX_CHECKED_RECORDS + 1),  # too big to score pair by pair
    ]
    links = pd.DataFrame(
        {
            "left": [0, 1, 3, 4, 6, 8],
            "right": [1, 2, 4, 5, 7, 9],
            "weight": [sure, weak, sure, sure, weak, weak],
        }
    )
    checked = candidates_to_check(clusters, links)
    assert [c.tolist() for c in checked] == [[0, 1, 2]]


def _weights(linker: Any, predictions: Any) -> pd.DataFrame:
    return linker.misc.query_sql(
        "SELECT unique_id_l AS left, unique_id_r AS right, match_weight AS weight "  # noqa: S608
        f"FROM {predictions.physical_name}",
        output_type="pandas",
    )


def test_every_pair_inside_each_candidate_is_weighed_once_as_scoring_would(
    resolved: tuple[Settings, Database],
) -> None:
    settings, database = resolved
    with database.transaction() as session:
        frame = load_model_frame(session)
    model = load_model(sorted(settings.models_dir.glob("*.json"))[-1])
    records = add_features(frame)
    numbered = records.assign(unique_id=np.arange(len(records), dtype=np.int64))
    linker = create_linker(numbered, model, "duckdb")
    predictions = linker.inference.predict()
    scored = _weights(linker, predictions)
    # Candidates holding pairs blocking made and pairs it never made.
    first = scored.iloc[0]
    candidates = [np.array([first["left"], first["right"], 3, 7]), np.array([20, 21, 30])]
    candidates = [np.unique(c.astype(np.int64)) for c in candidates]

    known, unscored = score_within(candidates, scored, linker, predictions, "duckdb")
    pairs = pd.concat([known, unscored])

    found = [tuple(p) for p in pairs[["left", "right"]].itertuples(index=False)]
    expected = {(a, b) for c in candidates for a in c for b in c if a < b}
    assert len(found) == len(set(found)) and set(found) == expected
    assert len(known) and len(unscored)  # both kinds were there to find
    # Every pair weighs what scoring every pair of each candidate, over all the records
    # (the same term frequencies), gives it.
    group = np.full(len(numbered), -1, dtype=np.int64) - np.arange(len(numbered))
    for index, members in enumerate(candidates):
        group[members] = index
    everything = copy.deepcopy(model)
    everything["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": "l.check_group = r.check_group"}
    ]
    reference = create_linker(numbered.assign(check_group=group), everything, "duckdb")
    expected_weights = _weights(reference, reference.inference.predict())
    compared = pairs.merge(expected_weights, on=["left", "right"], suffixes=("", "_expected"))
    assert len(compared) == len(expected)
    assert compared["weight"].to_numpy() == pytest.approx(compared["weight_expected"].to_numpy())
