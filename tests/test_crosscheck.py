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
from caseline.resolve.engine import DEFAULT_ENGINE
from caseline.resolve.features import add_features
from caseline.resolve.linking import link_records
from caseline.resolve.model import STORED_COLUMNS, load_model
from caseline.resolve.records import load_model_frame
from caseline.standardise import keyed_hash, stored_match_keys


def test_only_persons_of_three_or_more_held_by_a_weak_link_are_checked() -> None:
    weak, sure = SURE_WEIGHT - 5, SURE_WEIGHT + 5
    clusters = [
        np.array([0, 1, 2]),  # a weak link holds it: checked
        np.array([3, 4, 5]),  # every link is decisive alone: not checked
        np.array([6, 7]),  # a pair's only pair is its link: not checked
        np.arange(8, 8 + MAX_CHECKED_RECORDS + 1),  # too big to score pair by pair
        # Hundreds of records: the namesakes of a family chained together when no record
        # has a date of birth (309 records of 26 people), and checked.
        np.arange(2000, 2300),
    ]
    links = pd.DataFrame(
        {
            "left": [0, 1, 3, 4, 6, 8, 2000],
            "right": [1, 2, 4, 5, 7, 9, 2001],
            "weight": [sure, weak, sure, sure, weak, weak, weak],
        }
    )
    checked = candidates_to_check(clusters, links)
    assert [c.tolist() for c in checked] == [[0, 1, 2], list(range(2000, 2300))]


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
    linker = DEFAULT_ENGINE.create_linker(numbered, model.settings)
    predictions = linker.inference.predict()
    scored = _weights(linker, predictions)
    # Candidates holding pairs blocking made and pairs it never made. Candidates are persons,
    # so they share no record: the scored pair is the first (in a fixed order, the engine's
    # varies) that names none of the records picked below.
    named = [3, 7, 20, 21, 30]
    apart = scored[~scored["left"].isin(named) & ~scored["right"].isin(named)]
    first = apart.sort_values(["left", "right"]).iloc[0]
    candidates = [np.array([first["left"], first["right"], 3, 7]), np.array([20, 21, 30])]
    candidates = [np.unique(c.astype(np.int64)) for c in candidates]

    known, unscored = score_within(candidates, scored, linker, predictions, DEFAULT_ENGINE)
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
    everything = copy.deepcopy(model.settings)
    everything["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": "l.check_group = r.check_group"}
    ]
    reference = DEFAULT_ENGINE.create_linker(numbered.assign(check_group=group), everything)
    expected_weights = _weights(reference, reference.inference.predict())
    compared = pairs.merge(expected_weights, on=["left", "right"], suffixes=("", "_expected"))
    assert len(compared) == len(expected)
    assert compared["weight"].to_numpy() == pytest.approx(compared["weight_expected"].to_numpy())


def _namesake(key: str, dob: str | None, ssn: str | None, address: str | None, **more: str) -> dict:
    record = {column: None for column in STORED_COLUMNS} | {
        "unique_id": key, "given_name": "HAI", "middle_name": "DUONG", "family_name": "HOANG",
        "date_of_birth": dob, "address_key": address, "street_key": address,
        "postcode": address and address[-5:], **more,
    }  # fmt: skip
    if ssn:
        record["ssn_hash"] = keyed_hash("ssn", ssn, b"k")
        record["identifier_typo_keys"] = "ssn:" + stored_match_keys("ssn", ssn, b"k")
    return record


def test_namesakes_whose_dates_and_numbers_conflict_are_not_joined_by_a_record_of_both(
    resolved: tuple[Settings, Database],
) -> None:
    """Two men of one name, born 32 years apart with two SSNs, and an undated record of
    that name that links to each: the check keeps the two apart."""
    settings, database = resolved
    with database.transaction() as session:
        world = load_model_frame(session)
    model = load_model(sorted(settings.models_dir.glob("*.json"))[-1])
    elder = [
        _namesake(f"a{i}", "1952-05-12", "123456789", "10 RACHAEL COVE 61008") for i in range(3)
    ]
    younger = [
        _namesake(f"b{i}", "1984-11-07", "555443333", "29 EDWARDS REST 66341") for i in range(3)
    ]
    undated = [_namesake("u", None, None, None)]
    frame = pd.concat([world, pd.DataFrame(elder + younger + undated)[world.columns]])
    persons = link_records(frame, threshold=0.8, model=model).clusters
    person_of = {record: i for i, person in enumerate(persons) for record in person}
    assert len({person_of[r] for r in ("a0", "a1", "a2")}) == 1
    assert len({person_of[r] for r in ("b0", "b1", "b2")}) == 1
    assert person_of["a0"] != person_of["b0"]
