"""The lead list and the case board in the order of the priority policy in force.

Each lead and case carries the :class:`~caseline.cases.priority_ranking.Priority` that put
it where it is: the version, the rules that matched with their weights, the score. A case is
ranked by its person's facts on the day; what it was ranked under when opened stays in its
origin (``origin["priority"]``), so a later version does not rewrite why it was opened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.orm import Session

from caseline.cases.assignment import BoardCase
from caseline.cases.leads import Lead
from caseline.cases.priority_facts import facts_of_leads, facts_of_persons
from caseline.cases.priority_ranking import AppliedRule, Priority, rank
from caseline.cases.priority_versions import PolicyInForce, policy_in_force


def rank_leads(
    session: Session, leads: Sequence[Lead], as_of: dt.date, force: PolicyInForce | None = None
) -> list[Lead]:
    """``leads`` in the policy's order, each with its priority."""
    force = force or policy_in_force(session, as_of)
    facts = facts_of_leads(session, leads, as_of)
    ranked = rank(
        leads,
        policy=force.policy,
        version=force.version,
        on=as_of,
        facts=lambda lead: facts[lead.lead_id],
        since=lambda lead: lead.since,
        key=lambda lead: lead.lead_id,
    )
    return [replace(lead, priority=priority) for lead, priority in ranked]


def rank_board(session: Session, board: Sequence[BoardCase], as_of: dt.date) -> list[BoardCase]:
    """The board's cases in the policy's order (the reader's own first), each with its
    priority from its person's facts on the day."""
    force = policy_in_force(session, as_of)
    facts = facts_of_persons(session, [row.case.person_id for row in board], as_of)
    ranked = rank(
        board,
        policy=force.policy,
        version=force.version,
        on=as_of,
        facts=lambda row: facts[row.case.person_id],
        since=lambda row: row.case.opened_at.date(),
        key=lambda row: f"{row.case.id:012d}",
    )
    placed = [replace(row, priority=priority) for row, priority in ranked]
    return sorted(placed, key=lambda row: not row.mine)  # stable: keeps the policy's order


def opened_under(origin: dict[str, object]) -> Priority | None:
    """What a case was ranked under when opened from a lead, as its origin keeps it."""
    kept = origin.get("priority")
    if not isinstance(kept, dict):
        return None
    return priority_from_dict(kept)


def priority_from_dict(kept: dict[str, object]) -> Priority:
    rules = kept.get("rules")
    applied = tuple(
        AppliedRule(
            str(r["rule"]), str(r.get("title", "")), int(r["weight"]), int(r.get("tier", 0))
        )
        for r in (rules if isinstance(rules, list) else [])
        if isinstance(r, dict)
    )
    version = kept.get("version")
    return Priority(
        version=int(version) if isinstance(version, int) else None,
        policy=str(kept.get("policy", "")),
        rank=int(str(kept.get("rank", 0))),
        tier=int(str(kept.get("tier", 0))),
        score=int(str(kept.get("score", 0))),
        rules=applied,
    )


def case_priority(session: Session, person_id: str, as_of: dt.date) -> Priority:
    """What the policy in force makes of a case's person on the day: its score and the rules
    that give it (``rank`` 0: a case page shows one case, not its place among all)."""
    force = policy_in_force(session, as_of)
    facts = facts_of_persons(session, [person_id], as_of)[person_id]
    ((_, priority),) = rank(
        [person_id],
        policy=force.policy,
        version=force.version,
        on=as_of,
        facts=lambda _: facts,
        since=lambda _: as_of,
        key=str,
    )
    return replace(priority, rank=0)
