"""The feedback loop, measured: the simulated analyst works the leads a policy version puts
first, and each naming group's share of the persons who became leads, were actioned and were
wrongly actioned is set beside its share of the population and of the truly actionable.

Critics of systems like this say a score that leans on where people live or who they are
sends officers where they already were, which finds more cases there, which raises the
score. Here it is counted against the generated world's truth, per group, under a chosen
version (:func:`caseline.cases.simulation.simulate_cases` does the work, guards on).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from caseline.cases.ground_truth import read_true_persons
from caseline.cases.guards import Thresholds
from caseline.cases.leads import Lead, find_leads
from caseline.cases.priority_impact import WorldTruth, read_world_truth
from caseline.cases.priority_order import rank_leads
from caseline.cases.priority_versions import policy_in_force, policy_of_version
from caseline.cases.simulation import Outcome, Simulation, simulate_cases
from caseline.errors import InputError
from caseline.oversight import Actor, permit
from caseline.oversight.events import CasesSimulated

SHARES = ("population", "actionable", "leads", "worked", "actioned", "wrongly_actioned")


@dataclass(frozen=True, slots=True)
class GroupShares:
    group: str
    counts: dict[str, int]  # SHARES -> persons of the group
    shares: dict[str, float]  # SHARES -> the group's share of all such persons


@dataclass(frozen=True, slots=True)
class PolicySimulation:
    version: int | None
    policy: str
    capacity: int | None  # leads worked, the policy's first (None: every lead)
    simulation: Simulation
    totals: dict[str, int]
    groups: list[GroupShares]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "policy": self.policy,
            "capacity": self.capacity,
            "totals": self.totals,
            "by_group": {
                g.group: {
                    name: {"persons": g.counts[name], "share": round(g.shares[name], 4)}
                    for name in SHARES
                }
                for g in self.groups
            },
        }


def simulate_under_policy(
    session: Session,
    *,
    truth_records: Path,
    truth_persons: Path,
    as_of: dt.date,
    thresholds: Thresholds,
    actor: Actor,
    version: int | None = None,
    capacity: int | None = None,
) -> PolicySimulation:
    """Work the first ``capacity`` leads (all, without it) in the order of policy ``version``
    (the one in force, without it) and count each group's shares (audited as a simulation)."""
    if capacity is not None and capacity < 1:
        raise InputError("at least one lead", where="capacity")
    permit(actor, CasesSimulated)  # before reading anything; simulate_cases records it
    force = (
        policy_in_force(session, as_of) if version is None else policy_of_version(session, version)
    )

    def first(found: list[Lead]) -> list[Lead]:
        ranked = rank_leads(session, found, as_of, force)
        return ranked[:capacity] if capacity is not None else ranked

    simulation = simulate_cases(
        session,
        truth_records=truth_records,
        truth_persons=truth_persons,
        as_of=as_of,
        thresholds=thresholds,
        actor=actor,
        choose=first,
    )
    truth = read_world_truth(truth_records, truth_persons)
    persons = read_true_persons(truth_persons)
    group_of = {e: a.get("naming_group", "(unknown)") for e, a in truth.attributes.items()}
    found = _all_lead_entities(session, as_of, truth)
    acted = [w for w in simulation.worked if w.on.outcome is Outcome.ACTED]
    entities: dict[str, Iterable[str | None]] = {
        "population": persons,
        "actionable": (e for e, p in persons.items() if p.actionable),
        "leads": found,
        "worked": {w.intended for w in simulation.worked},
        "actioned": {w.chosen_entity for w in acted},
        "wrongly_actioned": {w.chosen_entity for w in acted if w.wrongful},
    }
    counts = {
        name: Counter(group_of.get(e or "", "(unknown)") for e in set(found_entities))
        for name, found_entities in entities.items()
    }
    totals = {name: sum(c.values()) for name, c in counts.items()}
    groups = sorted({g for c in counts.values() for g in c})
    return PolicySimulation(
        force.version,
        force.policy.name,
        capacity,
        simulation,
        totals,
        [
            GroupShares(
                g,
                {n: counts[n][g] for n in SHARES},
                {n: counts[n][g] / totals[n] if totals[n] else 0.0 for n in SHARES},
            )
            for g in groups
        ],
    )


def _all_lead_entities(session: Session, as_of: dt.date, truth: WorldTruth) -> set[str | None]:
    """The true persons every lead on the day is about (before any capacity)."""
    return {truth.majority(lead.records) for lead in find_leads(session, as_of)} - {None}
