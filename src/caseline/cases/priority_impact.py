"""What a priority policy would do before it takes effect, and whether a rule is a proxy.

For each rule: how many persons and leads it selects, by naming group, by sex and by place,
against each group's share of the population (every resolved person). A rule never reads
these attributes; this module reads them only to measure, from the truth files of a generated
world (naming group and sex are in no record Caseline keeps) and from the places the person's
own records give (the state most of them name).

A rule is a proxy on a dimension when, for a group of at least the policy's
``min_group_persons``, the group's share of the persons the rule selects differs from its
share of the population by more than ``max_share_difference`` plus what chance explains at
the number selected (:func:`chance_margin`: a share of ``n`` persons drawn at random from
the population wanders this far one time in twenty). A rule that selects fewer than
``min_selected_persons`` is reported as unmeasured (its shares are noise). A proxy rule
is refused unless the policy carries a written justification for that rule and dimension.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.cases.ground_truth import GroundTruth
from caseline.cases.leads import find_leads
from caseline.cases.priority_facts import facts_of_persons
from caseline.cases.priority_policy import DIMENSIONS, PriorityPolicy
from caseline.db.models import Person, PersonRecord, SourceRecord
from caseline.errors import InputError
from caseline.resolve.evaluation import read_truth

UNKNOWN = "(unknown)"
# Two-sided 95 %: a random draw's share strays beyond this many standard errors 1 time in 20.
CHANCE_Z = 1.96


def chance_margin(population_share: float, selected: int) -> float:
    """How far a group's share of ``selected`` persons drawn at random from the population
    may stray from its ``population_share`` by chance alone (95 %, normal approximation)."""
    if selected <= 0:
        return 0.0
    return CHANCE_Z * math.sqrt(population_share * (1.0 - population_share) / selected)


@dataclass(frozen=True, slots=True)
class WorldTruth:
    """Who each record truly belongs to, and each true person's naming group and sex."""

    entity_of: Mapping[str, str]
    attributes: Mapping[str, Mapping[str, str]]  # entity -> naming_group, sex

    def majority(self, record_ids: Sequence[str]) -> str | None:
        return GroundTruth(self.entity_of, {}).majority(record_ids)


def read_world_truth(records_path: Path, persons_path: Path) -> WorldTruth:
    """A generated world's ``truth.csv`` and ``persons.csv`` (with ``group`` and ``sex``)."""
    entity_of: dict[str, str] = {}
    for t in read_truth(records_path):
        entity_of[t.record_id] = t.entity_id
        if t.alternative_id:
            entity_of.setdefault(t.alternative_id, t.entity_id)
    if not persons_path.is_file():
        raise InputError("no such file", where=str(persons_path))
    attributes: dict[str, dict[str, str]] = {}
    try:
        with persons_path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in ("entity_id", "group", "sex") if c not in header]
            if missing:
                raise InputError(
                    f"missing columns: {', '.join(missing)} (a generated world's persons.csv)",
                    where=f"{persons_path}:1",
                )
            for row in reader:
                attributes[row["entity_id"]] = {"naming_group": row["group"], "sex": row["sex"]}
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", where=str(persons_path)) from None
    except csv.Error as exc:
        raise InputError(f"unreadable CSV ({exc})", where=str(persons_path)) from None
    return WorldTruth(entity_of, attributes)


@dataclass(frozen=True, slots=True)
class Share:
    value: str
    persons: int  # persons of this group in the population
    selected: int  # of them, selected by the rule
    population_share: float
    selected_share: float
    lead_share: float = 0.0  # the group's share of the persons with a lead (those ranked)

    @property
    def difference(self) -> float:
        return self.selected_share - self.population_share


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's selection on one dimension that differs beyond the bound."""

    rule_id: str
    dimension: str
    value: str
    difference: float
    justified: bool

    def describe(self) -> str:
        return (
            f"rule {self.rule_id}: {self.dimension} {self.value!r} is "
            f"{abs(self.difference):.1%} {'more' if self.difference > 0 else 'less'} of the "
            "persons it selects than of the population"
        )


@dataclass(frozen=True, slots=True)
class RuleImpact:
    rule_id: str
    title: str
    persons: int
    leads: int
    by: dict[str, list[Share]]  # dimension -> shares


@dataclass(frozen=True, slots=True)
class ImpactReport:
    where: str  # what was measured: the workspace, and the world its truth came from
    as_of: dt.date
    policy: str
    policy_sha256: str
    persons: int  # every resolved person: the population
    leads: int  # the leads on the day, the items the policy ranks
    population: dict[str, dict[str, int]]  # dimension -> value -> persons
    rules: list[RuleImpact]
    findings: list[Finding] = field(default_factory=list)
    bound: float = 0.0
    min_group_persons: int = 0
    min_selected_persons: int = 0

    def unmeasured(self) -> list[RuleImpact]:
        """Rules that select too few persons for their shares to be measured."""
        return [r for r in self.rules if r.persons < self.min_selected_persons]

    @property
    def unjustified(self) -> list[Finding]:
        return [f for f in self.findings if not f.justified]

    def as_dict(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "as_of": self.as_of.isoformat(),
            "policy": self.policy,
            "policy_sha256": self.policy_sha256,
            "bound": {
                "max_share_difference": self.bound,
                "min_group_persons": self.min_group_persons,
                "min_selected_persons": self.min_selected_persons,
            },
            "persons": self.persons,
            "leads": self.leads,
            "unmeasured": [r.rule_id for r in self.unmeasured()],
            "population": self.population,
            "rules": [
                {
                    "rule": r.rule_id,
                    "title": r.title,
                    "persons": r.persons,
                    "leads": r.leads,
                    "by": {
                        d: [
                            {
                                "value": s.value,
                                "persons": s.persons,
                                "selected": s.selected,
                                "population_share": round(s.population_share, 4),
                                "selected_share": round(s.selected_share, 4),
                                "lead_share": round(s.lead_share, 4),
                                "difference": round(s.difference, 4),
                            }
                            for s in shares
                        ]
                        for d, shares in r.by.items()
                    },
                }
                for r in self.rules
            ],
            "findings": [
                {
                    "rule": f.rule_id,
                    "dimension": f.dimension,
                    "value": f.value,
                    "difference": round(f.difference, 4),
                    "justified": f.justified,
                }
                for f in self.findings
            ],
        }


def measure_impact(
    session: Session,
    policy: PriorityPolicy,
    *,
    as_of: dt.date,
    truth: WorldTruth | None = None,
    where: str = "the workspace",
) -> ImpactReport:
    """Each rule's selection among every resolved person on ``as_of`` (unaudited: the entry
    points audit), by naming group and sex (with ``truth``) and by place, with how many of
    the persons and leads it selects have a lead."""
    leads = find_leads(session, as_of, open_cases={})
    leads_of = Counter(lead.person_id for lead in leads)
    person_ids = list(session.scalars(select(Person.person_id).order_by(Person.person_id)))
    facts = facts_of_persons(session, person_ids, as_of)
    attributes = _attributes(session, person_ids, truth)
    dimensions = [d for d in DIMENSIONS if truth is not None or d == "place"]
    population = {d: dict(Counter(attributes[p][d] for p in person_ids)) for d in dimensions}
    with_lead = {d: Counter(attributes[p][d] for p in leads_of) for d in dimensions}
    in_force = policy.rules_in_force(as_of)
    rules = []
    for rule in in_force:
        chosen = [p for p in person_ids if rule.matches(facts[p])]
        by = {
            d: _shares(population[d], Counter(attributes[p][d] for p in chosen), with_lead[d])
            for d in dimensions
        }
        rules.append(RuleImpact(rule.rule_id, rule.title, len(chosen),
                                sum(leads_of[p] for p in chosen), by))  # fmt: skip
    findings = [f for r in rules for f in _findings(policy, r)]
    return ImpactReport(
        where, as_of, policy.name, policy.sha256, len(person_ids), len(leads),
        population, rules, findings, policy.bound.max_share_difference,
        policy.bound.min_group_persons, policy.bound.min_selected_persons,
    )  # fmt: skip


def refuse_proxies(report: ImpactReport) -> None:
    """InputError naming every rule that acts as a proxy with no written justification."""
    if report.unjustified:
        found = "; ".join(f.describe() for f in report.unjustified)
        raise InputError(
            f"refused: {found} (bound {report.bound:.0%} plus what chance explains at the number "
            f"selected, measured on {report.where} on "
            f"{report.as_of}); such a rule acts as a proxy for an attribute no rule may read, "
            "unless the policy justifies it in writing (justifications: rule, dimension, text)",
            where=f"policy {report.policy}",
        )


def _shares(
    population: Mapping[str, int], selected: Mapping[str, int], with_lead: Mapping[str, int]
) -> list[Share]:
    total, chosen, ranked = (sum(c.values()) for c in (population, selected, with_lead))
    return [
        Share(
            value,
            n,
            selected.get(value, 0),
            n / total if total else 0.0,
            selected.get(value, 0) / chosen if chosen else 0.0,
            with_lead.get(value, 0) / ranked if ranked else 0.0,
        )
        for value, n in sorted(population.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def _findings(policy: PriorityPolicy, impact: RuleImpact) -> list[Finding]:
    if impact.persons < policy.bound.min_selected_persons:
        return []  # too few selected for a share to mean anything: reported as unmeasured
    found = []
    for dimension, shares in impact.by.items():
        for share in shares:
            if share.persons < policy.bound.min_group_persons or share.value == UNKNOWN:
                continue
            margin = chance_margin(share.population_share, impact.persons)
            if abs(share.difference) > policy.bound.max_share_difference + margin:
                justified = policy.justified(impact.rule_id, dimension) is not None
                found.append(Finding(impact.rule_id, dimension, share.value,
                                     share.difference, justified))  # fmt: skip
    return found


def _attributes(
    session: Session, person_ids: Sequence[str], truth: WorldTruth | None
) -> dict[str, dict[str, str]]:
    """person -> naming_group, sex (from the truth, by the entity most of their records are)
    and place (the state most of their records name)."""
    records: dict[str, list[str]] = {p: [] for p in person_ids}
    states: dict[str, Counter[str]] = {p: Counter() for p in person_ids}
    for start in range(0, len(person_ids), 5000):
        chunk = person_ids[start : start + 5000]
        rows = session.execute(
            select(PersonRecord.person_id, PersonRecord.record_id, SourceRecord.state)
            .join(SourceRecord, SourceRecord.record_id == PersonRecord.record_id)
            .where(PersonRecord.person_id.in_(chunk))
        )
        for person_id, record_id, state in rows:
            records[person_id].append(record_id)
            if state:
                states[person_id][state.upper()] += 1
    found: dict[str, dict[str, str]] = {}
    for p in person_ids:
        place = states[p].most_common(1)[0][0] if states[p] else UNKNOWN
        known: Mapping[str, str] = {}
        if truth is not None:
            entity = truth.majority(records[p])
            known = truth.attributes.get(entity or "", {})
        found[p] = {
            "naming_group": known.get("naming_group", UNKNOWN),
            "sex": known.get("sex", UNKNOWN),
            "place": place,
        }
    return found
