"""Ranking under a published policy: a pure function of the items' facts and the policy.

Each item is placed by the rules in force on the day that its facts match: first by the
highest tier among them (a tier puts an item ahead of every item of a lower one), then by the
sum of their weights, then by how long its condition has held (oldest first), then by id, so
the same facts under the same version always give the same order. Each ranked item keeps the
version and the rules that placed it, with their weights, so a page can say why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from caseline.cases.priority_policy import PriorityPolicy

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AppliedRule:
    rule_id: str
    title: str
    weight: int
    tier: int


@dataclass(frozen=True, slots=True)
class Priority:
    """Why an item stands where it does: the policy version, its rules matched, the score."""

    version: int | None  # None: a policy not published (an impact report's proposal)
    policy: str
    rank: int  # 1 is first
    tier: int
    score: int
    rules: tuple[AppliedRule, ...]

    def describe(self) -> str:
        """ "ranked by policy v3: final_order (+40), old_order (+10)" in one line."""
        named = f"policy v{self.version}" if self.version is not None else f"policy {self.policy}"
        if not self.rules:
            return f"ranked by {named}: no rule applies (score 0)"
        parts = [
            f"{r.rule_id} ({'tier ' + str(r.tier) + ', ' if r.tier else ''}+{r.weight})"
            for r in self.rules
        ]
        return f"ranked by {named}: {', '.join(parts)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "policy": self.policy,
            "rank": self.rank,
            "tier": self.tier,
            "score": self.score,
            "rules": [
                {"rule": r.rule_id, "title": r.title, "weight": r.weight, "tier": r.tier}
                for r in self.rules
            ],
            "explanation": self.describe(),
        }


def rank(
    items: Sequence[T],
    *,
    policy: PriorityPolicy,
    version: int | None,
    on: dt.date,
    facts: Callable[[T], Mapping[str, int | bool]],
    since: Callable[[T], dt.date],
    key: Callable[[T], str],
) -> list[tuple[T, Priority]]:
    """``items`` in the order the policy's rules in force ``on`` give, each with its
    :class:`Priority`."""
    rules = policy.rules_in_force(on)
    placed = []
    for item in items:
        matched = tuple(
            AppliedRule(r.rule_id, r.title, r.weight, r.tier)
            for r in rules
            if r.matches(facts(item))
        )
        tier = max((r.tier for r in matched), default=0)
        score = sum(r.weight for r in matched)
        placed.append((item, tier, score, matched))
    placed.sort(key=lambda p: (-p[1], -p[2], since(p[0]), key(p[0])))
    return [
        (item, Priority(version, policy.name, i, tier, score, matched))
        for i, (item, tier, score, matched) in enumerate(placed, start=1)
    ]
