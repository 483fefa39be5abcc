from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from caseline.resolve.assurance import (
    AssuranceEvidence,
    fit_assurance_model,
    gather_assurance_evidence,
    load_assurance_model,
)
from caseline.resolve.assurance_evaluation import purity_by_band
from caseline.resolve.evaluation import TruthRecord


@pytest.fixture
def records() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ssn_hash": ["s1", None, "s2", "s9"],
            "itin_hash": [None, None, None, None],
            "a_number_hash": ["a1", "a1", None, None],
            # the second is the first with day and month swapped: one date, not two
            "date_of_birth": ["1980-03-04", "1980-04-03", "1981-03-04", None],
        }
    )


def test_the_weakest_link_is_the_bottleneck_of_the_strongest_chain(records: pd.DataFrame) -> None:
    links = pd.DataFrame({"left": [0, 1, 0], "right": [1, 2, 2], "weight": [20.0, 8.0, 5.0]})
    person, single = gather_assurance_evidence(records, [np.array([0, 1, 2]), np.array([3])], links)
    assert person.weakest_link_weight == 8.0  # 0-1 (20) and 1-2 (8); the 5 is never needed
    assert person.links == 3 and person.records == 3
    assert person.conflicting_identifiers == ("ssn",)  # s1 and s2; one A-number
    assert person.dates_of_birth == 2  # 1980-03-04 (and its swap) and 1981-03-04
    assert single.weakest_link_weight is None and single.records == 1


def test_conflicts_and_weak_links_lower_assurance() -> None:
    model = load_assurance_model()
    clean = AssuranceEvidence(4, 25.0, 6, (), 1)
    assert model.assess(clean).assurance > 0.95
    assert (
        model.assess(replace(clean, conflicting_identifiers=("ssn",))).assurance
        < model.assess(clean).assurance
    )
    assert (
        model.assess(replace(clean, weakest_link_weight=4.5)).assurance
        < model.assess(clean).assurance
    )
    assert model.assess(AssuranceEvidence(1, None, 0, (), 1)).assurance == 1.0


def test_fitting_learns_that_conflicting_identifiers_mean_impure() -> None:
    rng = np.random.default_rng(3)
    evidence, pure = [], []
    for _ in range(600):
        conflict = rng.random() < 0.3
        evidence.append(
            AssuranceEvidence(3, float(rng.uniform(5, 30)), 3, ("ssn",) if conflict else (), 1)
        )
        pure.append(not conflict if rng.random() < 0.9 else conflict)
    model = fit_assurance_model(evidence, pure, {})
    assert model.assess(evidence[0]).assurance != 1.0
    with_conflict = next(e for e in evidence if e.conflicting_identifiers)
    without = next(e for e in evidence if not e.conflicting_identifiers)
    assert model.assess(replace(with_conflict, weakest_link_weight=20.0)).assurance < 0.5
    assert model.assess(replace(without, weakest_link_weight=20.0)).assurance > 0.5


def test_purity_is_counted_per_band_over_persons_of_two_or_more_records() -> None:
    truth = [
        TruthRecord(r, e, None)
        for r, e in [
            ("r1", "E1"),
            ("r2", "E1"),
            ("r3", "E2"),
            ("r4", "E3"),
            ("r5", "E4"),
            ("r6", "E5"),
        ]
    ]
    person_of = {"r1": "A", "r2": "A", "r3": "B", "r4": "B", "r5": "C", "r6": "D"}
    bands = purity_by_band(truth, person_of, {"A": 0.999, "B": 0.6, "C": 1.0, "D": None})
    counted = {b.label: (b.persons, b.pure) for b in bands if b.persons}
    assert counted == {"[0.99, 1.00]": (1, 1), "[0.50, 0.80)": (1, 0)}  # C is single, D unassessed
