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
    term_frequencies,
)
from caseline.resolve.features import add_features
from caseline.resolve.linking import frequency_columns
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


def test_every_pair_inside_each_candidate_is_scored(resolved: tuple[Settings, Database]) -> None:
    settings, database = resolved
    with database.transaction() as session:
        frame = load_model_frame(session)
    model = load_model(sorted(settings.models_dir.glob("*.json"))[-1])
    records = add_features(frame)
    numbered = records.assign(unique_id=np.arange(len(records), dtype=np.int64))
    candidates = [np.array([0, 5, 9, 14]), np.array([20, 21, 30])]
    frequencies = term_frequencies(numbered, frequency_columns(model))
    pairs = score_within(numbered, candidates, model, "duckdb", frequencies)
    found = {tuple(sorted(p)) for p in pairs[["left", "right"]].itertuples(index=False)}
    expected = {(a, b) for c in candidates for a in c for b in c if a < b}
    assert found == expected  # 6 + 3 pairs, none across candidates
    assert pairs["weight"].notna().all()


def test_term_frequencies_are_shares_of_the_filled_values() -> None:
    frame = pd.DataFrame({"family_key": ["LI", "LI", "WU", None]})
    table = term_frequencies(frame, ["family_key"])["family_key"]
    assert dict(zip(table["family_key"], table["tf_family_key"], strict=True)) == pytest.approx(
        {"LI": 2 / 3, "WU": 1 / 3}
    )
