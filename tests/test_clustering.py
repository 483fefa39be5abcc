import math
import random

import pandas as pd
import pytest

from caseline.resolve.clustering import (
    VETOES_OUTVOTED_AT,
    VOTING_WEIGHT,
    cluster_records,
    place_records,
)
from caseline.resolve.incremental import _by_person


def test_strong_links_join_records_into_persons() -> None:
    links = [("a", "b", 20.0), ("b", "c", 15.0), ("d", "e", 12.0)]
    assert cluster_records(list("abcdef"), links) == [["a", "b", "c"], ["d", "e"], ["f"]]


def test_a_chain_through_a_shared_record_is_cut_where_evidence_is_against_it() -> None:
    # Father (f1, f2) and son (s1) share a name and an address; record x looks like both.
    links = [("f1", "f2", 25.0), ("x", "f1", 14.0), ("x", "s1", 13.0)]
    against = [("f2", "s1")]  # different dates of birth: scored far below the veto weight
    clusters = cluster_records(["f1", "f2", "s1", "x"], links, against)
    assert clusters == [["f1", "f2", "x"], ["s1"]]


def test_without_evidence_against_the_chain_stands() -> None:
    links = [("f1", "f2", 25.0), ("x", "f1", 14.0), ("x", "s1", 13.0)]
    assert cluster_records(["f1", "f2", "s1", "x"], links) == [["f1", "f2", "s1", "x"]]


def test_the_strongest_link_is_taken_first() -> None:
    # x links to both a and b, which must stay apart; x goes with the stronger one.
    links = [("x", "a", 12.0), ("x", "b", 30.0)]
    clusters = cluster_records(["a", "b", "x"], links, against=[("a", "b")])
    assert clusters == [["a"], ["b", "x"]]


def test_reviewer_decisions_win_over_scores() -> None:
    links = [("a", "b", 40.0)]
    # a and b are decided apart despite the score; c and d decided together without one.
    clusters = cluster_records(
        ["a", "b", "c", "d"], links, cannot_link=[("a", "b")], must_link=[("c", "d")]
    )
    assert clusters == [["a"], ["b"], ["c", "d"]]


def test_a_must_link_overrules_a_score_against_but_not_a_cannot_link() -> None:
    scored_against = [("a", "b"), ("c", "d")]
    clusters = cluster_records(
        list("abcd"),
        [],
        against=scored_against,
        must_link=[("a", "b"), ("c", "d")],
        cannot_link=[("c", "d")],
    )
    assert clusters == [["a", "b"], ["c"], ["d"]]


def test_a_record_that_links_to_a_person_many_times_outvotes_one_pair_against() -> None:
    # r is one person's record written wrong twice over: it scores against p1 alone and
    # links to p2..p6; p1 links to p2 only.
    links = [("p1", "p2", 30.0)] + [(f"p{i}", "r", 10.0) for i in range(2, 7)]
    links += [(f"p{i}", f"p{i + 1}", 25.0) for i in range(2, 6)]
    records = ["p1", "p2", "p3", "p4", "p5", "p6", "r"]
    apart = cluster_records(records, links, against=[("p1", "r")])
    assert apart == [["p1", "p2", "p3", "p4", "p5", "p6"], ["r"]]
    assert cluster_records(records, links, against=[("p1", "r")], outvote=5) == [records]
    # Two pairs against need ten links across: five do not outvote them.
    twice = cluster_records(records, links, against=[("p1", "r"), ("p3", "r")], outvote=5)
    assert twice == apart


def test_weak_links_have_no_vote() -> None:
    # Twins born the same day at one address: their records link across at a few bits (the
    # given names count against), and one pair of their records is scored against.
    links = [("a1", "a2", 30.0), ("b1", "b2", 30.0)]
    links += [(a, b, 4.0) for a in ("a1", "a2") for b in ("b1", "b2")]
    clusters = cluster_records(["a1", "a2", "b1", "b2"], links, [("a1", "b1")], outvote=1)
    assert clusters == [["a1", "a2"], ["b1", "b2"]]


def test_no_number_of_links_outvotes_a_reviewer() -> None:
    links = [("a", "b", 20.0), ("a", "c", 20.0), ("b", "c", 20.0)]
    clusters = cluster_records(list("abc"), links, cannot_link=[("a", "c")], outvote=1)
    assert clusters == [["a", "b"], ["c"]]


def _naive(
    records: list[str],
    links: list[tuple[str, str, float]],
    against: set,
    outvote: float = math.inf,
) -> list:
    """Strongest link first, joining two groups unless the pairs against across them are
    not outvoted by the strong links across them (counted afresh at each step)."""
    group = {r: {r} for r in records}
    linked = {frozenset((left, right)) for left, right, w in links if w >= VOTING_WEIGHT}
    for left, right, _weight in sorted(links, key=lambda link: (-link[2], link[0], link[1])):
        a, b = group[left], group[right]
        vetoes = sum(frozenset((x, y)) in against for x in a for y in b)
        across = sum(frozenset((x, y)) in linked for x in a for y in b)
        if a is b or (vetoes and across < outvote * vetoes):
            continue
        joined = a | b
        for record in joined:
            group[record] = joined
    return sorted({tuple(sorted(g)) for g in group.values()})


@pytest.mark.parametrize("outvote", [math.inf, 1.0, 2.0, 5.0])
def test_vetoes_bind_the_groups_their_records_join_as_record_by_record_checks_would(
    outvote: float,
) -> None:
    rng = random.Random(7)
    for _ in range(200):
        records = [f"r{i:02d}" for i in range(rng.randint(2, 14))]
        pairs = [(a, b) for a in records for b in records if a < b]
        rng.shuffle(pairs)
        cut = rng.randint(0, len(pairs))
        links = [(a, b, float(rng.randint(1, 30))) for a, b in pairs[:cut]]
        against = pairs[cut : cut + rng.randint(0, 6)]
        clusters = cluster_records(records, links, against, outvote=outvote)
        expected = _naive(records, links, {frozenset(p) for p in against}, outvote)
        assert [tuple(c) for c in clusters] == expected


def _frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def test_a_new_record_joins_a_person_whose_strong_links_outvote_a_pair_against() -> None:
    persons = {"P": ["p1", "p2", "p3", "p4", "p5"]}
    links = _frame([("r", f"p{i}", 12.0) for i in range(1, 5)], ["left", "right", "weight"])
    against = _frame([("r", "p5")], ["left", "right"])
    assert place_records(persons, links, against, outvote=VETOES_OUTVOTED_AT) == {"P": ["r"]}
    kept_apart = place_records(persons, links, against)
    assert "P" not in kept_apart and list(kept_apart.values()) == [["r"]]


def test_placing_by_person_gives_what_placing_the_records_would() -> None:
    """Each link counts: r's first links to P are outvoted by r~p3's veto until r joins s,
    whose link to P tips the count; the next link to P, tried again, then succeeds."""
    persons = {"P": ["p1", "p2", "p3"], "Q": ["q1"]}
    links = _frame(
        [("r", "p1", 30.0), ("r", "s", 20.0), ("r", "p2", 12.0), ("s", "q1", 11.5),
         ("s", "p1", 11.0)],
        ["left", "right", "weight"],
    )  # fmt: skip
    against = _frame([("r", "p3")], ["left", "right"])
    direct = place_records(persons, links, against, outvote=VETOES_OUTVOTED_AT)
    assert direct == {"P": ["r", "s"]}
    by_person = place_records(*_by_person(persons, links, against), outvote=VETOES_OUTVOTED_AT)
    assert by_person == direct
