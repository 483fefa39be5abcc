"""Scoring of record -> person assignments against truth, on tiny cases worked out by hand."""

import pytest

from caseline.resolve.evaluation import TruthRecord, score_assignments

# Truth used throughout: entity A = {a1, a2, a3} in group g1, entity B = {b1, b2} in group g2.
TRUTH = [
    TruthRecord("a1", "A", "g1"),
    TruthRecord("a2", "A", "g1"),
    TruthRecord("a3", "A", "g1"),
    TruthRecord("b1", "B", "g2"),
    TruthRecord("b2", "B", "g2"),
]


def _persons(**members: str) -> dict[str, str]:
    """person_of from person id -> space-separated record ids."""
    return {record: person for person, records in members.items() for record in records.split()}


def test_a_perfect_resolution_scores_one_everywhere() -> None:
    scores = score_assignments(TRUTH, _persons(P1="a1 a2 a3", P2="b1 b2"))
    for s in (scores, *scores.by_group.values()):
        assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0)
        assert (s.bcubed_precision, s.bcubed_recall, s.bcubed_f1) == (1.0, 1.0, 1.0)
        assert s.largest_person == s.largest_true_entity
    assert (scores.largest_person, scores.largest_true_entity) == (3, 3)
    assert scores.missing_records == 0


def test_one_person_merging_two_entities_of_2_and_3_records() -> None:
    truth = [TruthRecord(r, "A", None) for r in ("a1", "a2")] + [
        TruthRecord(r, "B", None) for r in ("b1", "b2", "b3")
    ]
    scores = score_assignments(truth, {t.record_id: "P" for t in truth})
    # Each A record: 2 of its person's 5 are A; each B record: 3 of 5.
    assert scores.bcubed_precision == pytest.approx((2 * 2 / 5 + 3 * 3 / 5) / 5)  # 0.52
    assert scores.bcubed_recall == 1.0
    assert scores.bcubed_f1 == pytest.approx(2 * 0.52 / 1.52)
    # Pairs: 10 predicted, 1 + 3 true, all 4 true ones found.
    assert (scores.true_positive_pairs, scores.predicted_pairs, scores.true_pairs) == (4, 10, 4)
    assert (scores.largest_person, scores.largest_true_entity) == (5, 3)
    assert scores.by_group == {}


def test_all_singletons_keep_precision_and_lose_recall() -> None:
    scores = score_assignments(TRUTH, {t.record_id: t.record_id for t in TRUTH})
    assert scores.bcubed_precision == 1.0
    assert scores.bcubed_recall == pytest.approx((3 * 1 / 3 + 2 * 1 / 2) / 5)  # 0.4
    assert (scores.precision, scores.recall) == (1.0, 0.0)  # no predicted pairs
    assert (scores.largest_person, scores.largest_true_entity) == (1, 3)


def test_groups_are_scored_over_their_own_records() -> None:
    # Persons {a1, a2}, {a3, b1}, {b2}: P2 spans both groups.
    scores = score_assignments(TRUTH, _persons(P1="a1 a2", P2="a3 b1", P3="b2"))
    # Cells (A,P1)=2, (A,P2)=1, (B,P2)=1, (B,P3)=1.
    assert scores.bcubed_precision == pytest.approx((2 * 2 / 2 + 1 / 2 + 1 / 2 + 1 / 1) / 5)
    assert scores.bcubed_recall == pytest.approx((2 * 2 / 3 + 1 / 3 + 1 / 2 + 1 / 2) / 5)
    assert (scores.largest_person, scores.largest_true_entity) == (2, 3)

    g1, g2 = scores.by_group["g1"], scores.by_group["g2"]
    # Within g1, P2 is only {a3}: no record shares a person with a record of another group.
    assert g1.bcubed_precision == 1.0
    assert g1.bcubed_recall == pytest.approx((2 * 2 / 3 + 1 / 3) / 3)  # 5/9
    assert (g1.true_positive_pairs, g1.predicted_pairs, g1.true_pairs) == (1, 1, 3)
    assert (g1.records, g1.largest_person, g1.largest_true_entity) == (3, 2, 3)
    assert g2.bcubed_precision == 1.0
    assert g2.bcubed_recall == pytest.approx(0.5)
    assert (g2.records, g2.largest_person, g2.largest_true_entity) == (2, 1, 2)


def test_a_record_never_ingested_is_a_person_of_its_own() -> None:
    truth = [
        TruthRecord("a1", "A", "g1"),
        TruthRecord("a2", "A", "g1"),
        TruthRecord("b1", "B", None),
    ]
    scores = score_assignments(truth, {"a1": "P1", "b1": "P2"})
    assert scores.missing_records == 1
    assert scores.by_group["g1"].missing_records == 1
    assert (scores.true_positive_pairs, scores.true_pairs) == (0, 1)
    assert scores.bcubed_precision == 1.0
    assert scores.bcubed_recall == pytest.approx((1 / 2 + 1 / 2 + 1) / 3)
    assert scores.records == 3
    assert scores.by_group["g1"].records == 2  # the group-less record counts only overall


def test_missing_records_are_never_merged_with_a_person_of_any_id() -> None:
    # Cluster ids are whatever the caller uses; none can collide with a missing record.
    truth = [TruthRecord("a1", "A", None), TruthRecord("a2", "A", None)]
    for person_id in ("missing", "missing:a2", "a2", ""):
        scores = score_assignments(truth, {"a1": person_id})
        assert scores.missing_records == 1
        assert scores.predicted_pairs == 0


def test_a_record_is_found_under_its_alternative_id() -> None:
    truth = [
        TruthRecord("s:17.0", "A", None, alternative_id="s:17"),
        TruthRecord("s:18", "A", None),
    ]
    scores = score_assignments(truth, {"s:17": "P", "s:18": "P"})
    assert scores.missing_records == 0
    assert scores.bcubed_f1 == 1.0


def test_records_the_truth_does_not_list_are_left_out() -> None:
    person_of = _persons(P1="a1 a2 a3 x1 x2 x3 x4", P2="b1 b2")
    scores = score_assignments(TRUTH, person_of)
    assert scores.largest_person == 3
    assert scores.bcubed_precision == 1.0
    assert scores.records == 5


def test_as_dict_keeps_the_pairwise_keys_and_adds_bcubed_and_sizes() -> None:
    figures = score_assignments(TRUTH, _persons(P1="a1 a2", P2="a3 b1", P3="b2")).as_dict()
    assert {
        "precision",
        "recall",
        "f1",
        "true_positive_pairs",
        "predicted_pairs",
        "true_pairs",
        "records",
        "missing_records",
        "bcubed_precision",
        "bcubed_recall",
        "bcubed_f1",
        "largest_person",
        "largest_true_entity",
    } <= set(figures)
    assert figures["bcubed_precision"] == 0.8
    assert figures["largest_person"] == 2
    by_group = figures["by_group"]
    assert isinstance(by_group, dict)
    assert by_group["g2"]["bcubed_recall"] == 0.5
    assert by_group["g2"]["largest_true_entity"] == 2


def test_no_records_score_as_vacuously_right() -> None:
    scores = score_assignments([], {})
    assert (scores.bcubed_precision, scores.bcubed_recall, scores.bcubed_f1) == (1.0, 1.0, 1.0)
    assert (scores.records, scores.largest_person, scores.largest_true_entity) == (0, 0, 0)
