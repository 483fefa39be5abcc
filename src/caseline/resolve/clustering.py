"""Scored pairs -> groups of records, one per person, without chaining strangers together.

Plain connected components at a threshold join A and C whenever A~B and B~C, so on common
names, households and twins one strong link after another builds a giant "person". Here
links are taken strongest first, and two groups are joined only if no pair of records
across them is strong evidence *against* being one person (a different date of birth and
given name, a Jr. and a Sr.), unless the strong links across them are at least
`VETOES_OUTVOTED_AT` times as many as such pairs (where the caller allows it). Reviewer
decisions win over scores: a must-link joins two groups unless a cannot-link forbids it,
and a cannot-link is a veto that no score outvotes.

Most linked groups hold no pair against each other; those are taken whole (connected
components, in compiled code), and only the contested ones are built link by link.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

VETO_WEIGHT = -10.0  # a scored pair at or below this match weight keeps its two groups apart
# ...if both its records have a date of birth, which tells relatives and namesakes apart.
# Without one, a pair that nothing else joins scores near the prior (far below zero in a
# large world): absence of evidence, not a disagreement. Such a pair vetoes
# only if its evidence is against, by at least this many bits below the prior.
UNDATED_VETO_EVIDENCE = -4.0
# A pair against is usually one record written twice wrong (names in the other order and a
# typo; given and middle names exchanged): it scores against the person's other records one
# by one, while those link to each other, and to it, many times over. So the links across
# two groups outvote the pairs against across them when they are at least this many times
# as many. Only a link as strong for one person as a veto is against votes: twins born the
# same day at one address link at a few bits (their given names count against them), and
# the pairs against are what keeps them apart. A full run's cross-check clusters its
# candidates again with every veto binding; incremental placement has no cross-check, so a
# placement the vote allowed stands until the next full run.
VETOES_OUTVOTED_AT = 3.0
VOTING_WEIGHT = -VETO_WEIGHT
Counts = defaultdict[int, Counter[int]]  # group -> other group -> pairs between them


def _counts() -> Counts:
    return defaultdict(Counter)


@dataclass(slots=True)
class _Groups:
    """Union-find over record indexes that also keeps each group's members, and between
    groups the pairs of their records against one person, the pairs linked, and the pairs a
    reviewer forbade. Links outvote pairs against at ``outvote`` times as many (never, if
    infinite); nothing outvotes a reviewer."""

    outvote: float = math.inf
    parent: dict[int, int] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)
    # Kept by group (root), not by record, so that a veto is one lookup however large the
    # groups have grown; joining two groups moves the smaller's counts to the larger.
    against: Counts = field(default_factory=_counts)
    linked: Counts = field(default_factory=_counts)
    forbidden: Counts = field(default_factory=_counts)

    def find(self, i: int) -> int:
        if i not in self.parent:
            self.parent[i], self.members[i] = i, [i]
            return i
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, self.parent[i]
        return root

    def vetoed(self, a: int, b: int) -> bool:
        """Whether a reviewer forbade a pair across groups ``a`` and ``b``, or pairs across
        them are against one person and the links across do not outvote them."""
        if _between(self.forbidden, a, b):
            return True
        against = _between(self.against, a, b)
        return bool(against) and _between(self.linked, a, b) < self.outvote * against

    def join_unless_vetoed(self, left: int, right: int, anchored: set[int] | None = None) -> None:
        """Join the groups of ``left`` and ``right`` unless pairs across them are against it
        (see `vetoed`), or both hold an ``anchored`` record (two existing persons are never
        merged here)."""
        a, b = self.find(left), self.find(right)
        if a == b or self.vetoed(a, b):
            return
        if anchored is not None and a in anchored and b in anchored:
            return
        small, large = (a, b) if len(self.members[a]) <= len(self.members[b]) else (b, a)
        self.parent[small] = large
        self.members[large].extend(self.members.pop(small))
        for counts in (self.against, self.linked, self.forbidden):
            _moved(counts, small, large)
        if anchored is not None and small in anchored:
            anchored.discard(small)
            anchored.add(large)

    def add_against(self, left: int, right: int) -> None:
        self._count(self.against, left, right)

    def add_votes(self, links: pd.DataFrame) -> None:
        """Count the ``links`` (left, right, weight) that vote against pairs against: those
        of at least `VOTING_WEIGHT`, and none where nothing is outvoted."""
        if math.isfinite(self.outvote):
            strong = links[links["weight"].to_numpy(float) >= VOTING_WEIGHT]
            for left, right in strong[["left", "right"]].itertuples(index=False):
                self._count(self.linked, left, right)

    def forbid(self, left: int, right: int) -> None:
        self._count(self.forbidden, left, right)

    def _count(self, counts: Counts, left: int, right: int) -> None:
        a, b = self.find(left), self.find(right)
        if a != b:  # a pair inside one group already joined (by a reviewer) binds nothing
            counts[a][b] += 1
            counts[b][a] += 1


def _between(counts: Counts, a: int, b: int) -> int:
    """The pairs counted between groups ``a`` and ``b`` (looked up without adding entries)."""
    mine = counts.get(a)
    return mine.get(b, 0) if mine else 0


def _moved(counts: Counts, small: int, large: int) -> None:
    """Group ``small``'s counts become ``large``'s (the two are now one group); the pairs
    between the two fall inside it and count no more."""
    mine = counts.pop(small, None)
    if not mine:
        return
    for other, count in mine.items():
        theirs = counts[other]
        del theirs[small]
        if other != large:
            theirs[large] += count
            counts[large][other] += count


def cluster_records(
    record_ids: Sequence[str],
    links: Iterable[tuple[str, str, float]],
    against: Iterable[tuple[str, str]] = (),
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
    *,
    outvote: float = math.inf,
) -> list[list[str]]:
    """Group ``record_ids``: ``links`` are (left, right, weight) above the match threshold,
    ``against`` pairs scored at or below the veto weight, which keep two groups apart unless
    the links across them of at least `VOTING_WEIGHT` are ``outvote`` times as many;
    ``must_link`` and ``cannot_link`` are reviewers' decisions. A must-link is refused only
    by a cannot-link (a reviewer may contradict a score, not another reviewer). Returns
    sorted lists of record ids.
    """
    return cluster_pairs(
        record_ids,
        pd.DataFrame(list(links), columns=["left", "right", "weight"]),
        _pairs(against),
        _pairs(must_link),
        _pairs(cannot_link),
        outvote=outvote,
    )


def _pairs(pairs: Iterable[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(list(pairs), columns=["left", "right"])


def cluster_pairs(
    record_ids: Sequence[Any],
    links: pd.DataFrame,
    against: pd.DataFrame,
    must_link: pd.DataFrame,
    cannot_link: pd.DataFrame,
    *,
    outvote: float = math.inf,
) -> list[list[Any]]:
    """`cluster_records` over frames of pairs (columns left, right, and weight for links)."""
    ids = pd.Index(record_ids)
    scored = _indexed(ids, links)
    vetoes, musts, cannots = (_indexed(ids, p) for p in (against, must_link, cannot_link))

    edges = pd.concat([scored[["left", "right"]], musts])
    graph = coo_matrix(
        (np.ones(len(edges), dtype=np.int8), (edges["left"], edges["right"])),
        shape=(len(ids), len(ids)),
    )
    _count, component = connected_components(graph, directed=False)
    components = LinkComponents(component, contested_components(component, vetoes, cannots, musts))
    return _clustered(ids, components, (scored, vetoes, musts, cannots), outvote)


@dataclass(frozen=True, slots=True)
class LinkComponents:
    """The connected components of the links and must-links, found wherever the pairs are
    (here with scipy, or on a Spark cluster), and the contested ones among them.

    ``component``: per record position, the label of its component (any integer, one per
    component). ``contested``: the labels of the components that a pair inside scored or
    decided against, or a reviewer decided inside: only those are built link by link.
    """

    component: np.ndarray
    contested: np.ndarray


def contested_components(component: np.ndarray, *pairs: pd.DataFrame) -> np.ndarray:
    """The labels of the components that hold one of the ``pairs`` (by position) inside."""
    found = [np.empty(0, dtype=component.dtype)]
    for frame in pairs:
        left, right = component[frame["left"]], component[frame["right"]]
        found.append(left[left == right])
    return np.unique(np.concatenate(found))


def cluster_components(
    record_ids: Sequence[Any],
    components: LinkComponents,
    links: pd.DataFrame,
    against: pd.DataFrame,
    must_link: pd.DataFrame,
    cannot_link: pd.DataFrame,
    *,
    outvote: float = math.inf,
) -> list[list[Any]]:
    """`cluster_pairs` where the components were found elsewhere: the uncontested ones are
    taken whole, and the contested ones built link by link from the pairs given, of which
    only those inside a contested component count (so ``links`` and ``against`` need hold
    no others). The same groups as `cluster_pairs` over every pair."""
    ids = pd.Index(record_ids)
    if len(components.component) != len(ids):
        raise ValueError(
            f"components label {len(components.component)} records, not the {len(ids)} given"
        )
    pairs = (_indexed(ids, p) for p in (links, against, must_link, cannot_link))
    scored, vetoes, musts, cannots = pairs
    return _clustered(ids, components, (scored, vetoes, musts, cannots), outvote)


def _clustered(
    ids: pd.Index,
    components: LinkComponents,
    pairs: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame],
    outvote: float,
) -> list[list[Any]]:
    contested = set(components.contested.tolist())
    clusters = _uncontested(ids, components.component, contested)
    if contested:
        clusters += _built_link_by_link(ids, components.component, contested, pairs, outvote)
    return sorted(clusters)


def _indexed(ids: pd.Index, pairs: pd.DataFrame) -> pd.DataFrame:
    """Pairs of record ids -> pairs of positions; pairs naming an unknown record dropped."""
    left, right = ids.get_indexer(pairs["left"]), ids.get_indexer(pairs["right"])
    known = (left >= 0) & (right >= 0)
    out = pairs[known].copy()
    out["left"], out["right"] = left[known], right[known]
    return out


def _uncontested(ids: pd.Index, component: np.ndarray, contested: set[int]) -> list[list[Any]]:
    """The records of each uncontested component, as one group each."""
    positions = np.flatnonzero(~np.isin(component, list(contested)))
    ordered = positions[np.argsort(component[positions], kind="stable")]
    bounds = np.flatnonzero(np.diff(component[ordered])) + 1
    members = np.asarray(ids, dtype=object)[ordered]
    return [sorted(group.tolist()) for group in np.split(members, bounds) if len(group)]


def _built_link_by_link(
    ids: pd.Index,
    component: np.ndarray,
    contested: set[int],
    pairs: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame],
    outvote: float,
) -> list[list[Any]]:
    """The contested components' groups, from their (links, vetoes, must-links, cannot-links)."""
    scored, vetoes, musts, cannots = pairs

    def within(pairs: pd.DataFrame) -> pd.DataFrame:
        """The pairs inside a contested component (no link joins across components)."""
        left, right = component[pairs["left"]], component[pairs["right"]]
        return pairs[(left == right) & np.isin(left, list(contested))]

    decided = _Groups(outvote)
    for left, right in within(cannots)[["left", "right"]].itertuples(index=False):
        decided.forbid(left, right)
    for left, right in within(musts)[["left", "right"]].itertuples(index=False):
        decided.join_unless_vetoed(left, right)
    for left, right in within(vetoes)[["left", "right"]].itertuples(index=False):
        decided.add_against(left, right)
    links = within(scored).assign(
        left_id=lambda f: ids[f["left"]], right_id=lambda f: ids[f["right"]]
    )
    decided.add_votes(links)
    # Strongest first; ties in a fixed order so that a re-run gives the same persons.
    links = links.sort_values(["weight", "left_id", "right_id"], ascending=[False, True, True])
    for left, right in links[["left", "right"]].itertuples(index=False):
        decided.join_unless_vetoed(left, right)
    members = np.flatnonzero(np.isin(component, list(contested)))
    groups: defaultdict[int, list[Any]] = defaultdict(list)
    for position in members.tolist():
        groups[decided.find(position)].append(ids[position])
    return [sorted(group) for group in groups.values()]


def place_records(
    persons: dict[str, list[str]],
    links: pd.DataFrame,
    against: pd.DataFrame,
    *,
    outvote: float = math.inf,
) -> dict[str, list[str]]:
    """Incremental clustering: new records join existing ``persons`` (id -> record ids) or
    form new groups, strongest link first, with the same vetoes (outvoted as in
    `cluster_records`); two existing persons are
    never merged (that waits for a full run). ``links`` and ``against`` are pairs with at
    least one new record. Returns person id (or "" + n for a new group) -> new record ids.
    """
    person_of = {record: pid for pid, records in persons.items() for record in records}
    ids = pd.Index(sorted(set(links["left"]) | set(links["right"]) | set(person_of)))
    groups = _Groups(outvote)
    anchored: set[int] = set()
    position_of = {record: position for position, record in enumerate(ids)}
    for records in persons.values():
        positions = [position_of[record] for record in records]
        for position in positions[1:]:
            groups.join_unless_vetoed(positions[0], position)
        anchored.add(groups.find(positions[0]))
    for left, right in _indexed(ids, against)[["left", "right"]].itertuples(index=False):
        groups.add_against(left, right)
    ordered = _indexed(ids, links).sort_values("weight", ascending=False, kind="stable")
    groups.add_votes(ordered)
    for left, right in ordered[["left", "right"]].itertuples(index=False):
        groups.join_unless_vetoed(left, right, anchored)
    placed: defaultdict[str, list[str]] = defaultdict(list)
    for position, record in enumerate(ids):
        if record in person_of:
            continue
        root = groups.find(position)
        owner = next((person_of[ids[m]] for m in groups.members[root] if ids[m] in person_of), "")
        placed[owner or f"new:{root}"].append(record)
    return dict(placed)
