from caseline.resolve.clustering import cluster_records


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
