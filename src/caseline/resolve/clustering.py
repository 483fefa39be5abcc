"""Scored pairs -> groups of records, one per person, without chaining strangers together.

Plain connected components at a threshold join A and C whenever A~B and B~C, so on common
names, households and twins one strong link after another builds a giant "person". Here
links are taken strongest first, and two groups are joined only if no pair of records
across them is strong evidence *against* being one person (a different date of birth and
given name, a Jr. and a Sr.). Reviewer decisions win over scores: a must-link joins two
groups unless a cannot-link forbids it, and a cannot-link is a veto that no score outvotes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

VETO_WEIGHT = -10.0  # a scored pair at or below this match weight keeps its two groups apart


@dataclass(slots=True)
class _Groups:
    """Union-find over record indexes that also keeps each group's members."""

    parent: list[int]
    members: list[list[int]]
    against: defaultdict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def of(cls, size: int) -> _Groups:
        return cls(list(range(size)), [[i] for i in range(size)])

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, self.parent[i]
        return root

    def vetoed(self, a: int, b: int) -> bool:
        """Whether any record of group ``a`` has evidence against any record of group ``b``."""
        small, large = (a, b) if len(self.members[a]) <= len(self.members[b]) else (b, a)
        return any(
            self.find(other) == large
            for record in self.members[small]
            for other in self.against.get(record, ())
        )

    def join(self, a: int, b: int) -> None:
        small, large = (a, b) if len(self.members[a]) <= len(self.members[b]) else (b, a)
        self.parent[small] = large
        self.members[large].extend(self.members[small])
        self.members[small] = []


def _add_pairs(groups: _Groups, index: dict[str, int], pairs: Iterable[tuple[str, str]]) -> None:
    for left, right in pairs:
        if left in index and right in index:
            groups.against[index[left]].add(index[right])
            groups.against[index[right]].add(index[left])


def cluster_records(
    record_ids: Sequence[str],
    links: Iterable[tuple[str, str, float]],
    against: Iterable[tuple[str, str]] = (),
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
) -> list[list[str]]:
    """Group ``record_ids``: ``links`` are (left, right, weight) above the match threshold,
    ``against`` pairs scored at or below the veto weight; ``must_link`` and ``cannot_link``
    are reviewers' decisions. A must-link is refused only by a cannot-link (a reviewer may
    contradict a score, not another reviewer). Returns sorted lists of record ids.
    """
    index = {record_id: i for i, record_id in enumerate(record_ids)}
    decided = _Groups.of(len(record_ids))
    _add_pairs(decided, index, cannot_link)
    for left, right in must_link:
        if left in index and right in index:
            a, b = decided.find(index[left]), decided.find(index[right])
            if a != b and not decided.vetoed(a, b):
                decided.join(a, b)
    groups = decided  # the scores build on what reviewers decided
    _add_pairs(groups, index, against)
    ordered = sorted(links, key=lambda link: (-link[2], link[0], link[1]))
    for left, right, _weight in ordered:
        if left not in index or right not in index:
            continue
        a, b = groups.find(index[left]), groups.find(index[right])
        if a != b and not groups.vetoed(a, b):
            groups.join(a, b)
    clusters = [sorted(record_ids[i] for i in members) for members in groups.members if members]
    return sorted(clusters)
