"""Priorities as published policy: declared rules, each with its legal basis, the facts it
reads, its weight or tier, and its effective dates, read from a YAML file.

A rule reads only facts of the closed vocabulary :data:`FACTS` (computed from a lead's or
case's records by :mod:`caseline.cases.priority_facts`). A rule that names a protected
attribute (naming group, nationality, citizenship, sex, neighbourhood, place, ...) is refused
when the policy is loaded, before the vocabulary is consulted, so the refusal says why; a rule
whose inputs act as a proxy for one is refused by measurement
(:mod:`caseline.cases.priority_impact`) against the policy's own bound.

Every error names the file, the rule and the field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from caseline.errors import InputError

DEFAULT_POLICY = "default.yaml"  # shipped in caseline/cases/policies/


class FactKind(StrEnum):
    FLAG = "flag"  # true or false
    DAYS = "days"  # a whole number of days, 0 when the fact does not apply
    COUNT = "count"  # how many, 0 when none


@dataclass(frozen=True, slots=True)
class Fact:
    name: str
    kind: FactKind
    meaning: str


# The closed vocabulary: every fact a rule may read, each computed from the person's own
# status, court and border records as the lead rules read them.
FACTS: dict[str, Fact] = {
    f.name: f
    for f in (
        Fact("final_order", FactKind.FLAG, "a final removal order with no exit since"),
        Fact("final_order_days", FactKind.DAYS, "days since that final order"),
        Fact("departure_deadline_passed", FactKind.FLAG,
             "a voluntary-departure deadline passed with no exit"),
        Fact("days_past_deadline", FactKind.DAYS, "days since that deadline"),
        Fact("overstay_days", FactKind.DAYS,
             "days since an authorised stay ended with no exit or later status"),
        Fact("court_conviction", FactKind.FLAG,
             "a court record whose outcome states a criminal conviction"),
        Fact("missed_hearing", FactKind.FLAG,
             "a court record whose outcome states an order in absentia or a failure to appear"),
        Fact("continued_hearings", FactKind.COUNT,
             "hearings continued in the person's court records (a count)"),
        Fact("family_name_variants", FactKind.COUNT,
             "distinct family names the person's records give, beyond the first (a count)"),
    )
}  # fmt: skip

# Words a rule may never read: protected attributes and where a person lives. A field is
# refused if any of its words is one of these (``country_of_birth``, ``home_postcode``).
FORBIDDEN_WORDS = frozenset(
    {
        "group", "naming", "ethnicity", "ethnic", "race", "religion", "language",
        "nationality", "citizenship", "citizen", "country", "birthplace",
        "sex", "gender",
        "neighbourhood", "neighborhood", "place", "city", "state", "postcode", "zip",
        "address", "street", "county", "district", "tract", "region",
    }
)  # fmt: skip
RULE_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MIN_LEGAL_BASIS = 40  # characters: a citation and what it says, not a bare section number
MIN_JUSTIFICATION = 80
DIMENSIONS = ("naming_group", "sex", "place")  # what impact and proxies are measured by


@dataclass(frozen=True, slots=True)
class Condition:
    """What a rule asks of one fact: a flag's value, or a number of days at least or at most."""

    fact: str
    equals: bool | None = None
    at_least: int | None = None
    at_most: int | None = None

    def holds(self, value: int | bool) -> bool:
        if self.equals is not None:
            return bool(value) is self.equals
        number = int(value)
        if self.at_least is not None and number < self.at_least:
            return False
        return self.at_most is None or number <= self.at_most

    def describe(self) -> str:
        if self.equals is not None:
            return self.fact if self.equals else f"not {self.fact}"
        parts = [f">= {self.at_least}" if self.at_least is not None else "",
                 f"<= {self.at_most}" if self.at_most is not None else ""]  # fmt: skip
        return f"{self.fact} {' and '.join(p for p in parts if p)}"

    def as_dict(self) -> object:
        if self.equals is not None:
            return self.equals
        return {k: v for k, v in (("at_least", self.at_least), ("at_most", self.at_most)) if v}


@dataclass(frozen=True, slots=True)
class PriorityRule:
    rule_id: str
    title: str
    legal_basis: str
    when: tuple[Condition, ...]
    weight: int
    tier: int
    effective_from: dt.date
    effective_until: dt.date | None

    @property
    def reads(self) -> tuple[str, ...]:
        return tuple(c.fact for c in self.when)

    def in_force(self, on: dt.date) -> bool:
        return self.effective_from <= on and (
            self.effective_until is None or on <= self.effective_until
        )

    def matches(self, facts: Mapping[str, int | bool]) -> bool:
        return all(c.holds(facts.get(c.fact, 0)) for c in self.when)


@dataclass(frozen=True, slots=True)
class ProxyBound:
    """How far a rule's selection may differ from the population, per group: the share of a
    group among the persons selected against its share of the population, in absolute terms,
    counted for groups of at least ``min_group_persons`` and rules selecting at least
    ``min_selected_persons``."""

    max_share_difference: float
    min_group_persons: int
    min_selected_persons: int = 20


@dataclass(frozen=True, slots=True)
class Justification:
    rule_id: str
    dimension: str
    text: str


@dataclass(frozen=True, slots=True)
class PriorityPolicy:
    name: str
    title: str
    summary: str
    effective_from: dt.date
    bound: ProxyBound
    rules: tuple[PriorityRule, ...]
    justifications: tuple[Justification, ...] = ()
    text: str = field(default="", repr=False)  # the YAML as written

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def rules_in_force(self, on: dt.date) -> tuple[PriorityRule, ...]:
        return tuple(r for r in self.rules if r.in_force(on))

    def justified(self, rule_id: str, dimension: str) -> Justification | None:
        return next(
            (j for j in self.justifications if j.rule_id == rule_id and j.dimension == dimension),
            None,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "effective_from": self.effective_from.isoformat(),
            "bound": {
                "max_share_difference": self.bound.max_share_difference,
                "min_group_persons": self.bound.min_group_persons,
                "min_selected_persons": self.bound.min_selected_persons,
            },
            "rules": [
                {
                    "id": r.rule_id,
                    "title": r.title,
                    "legal_basis": r.legal_basis,
                    "reads": list(r.reads),
                    "when": {c.fact: c.as_dict() for c in r.when},
                    "weight": r.weight,
                    "tier": r.tier,
                    "effective_from": r.effective_from.isoformat(),
                    "effective_until": r.effective_until.isoformat() if r.effective_until else None,
                }
                for r in self.rules
            ],
            "justifications": [
                {"rule": j.rule_id, "dimension": j.dimension, "text": j.text}
                for j in self.justifications
            ],
            "sha256": self.sha256,
        }


def load_policy_file(path: Path) -> PriorityPolicy:
    """The policy in a YAML file; InputError naming the file, rule and field of any fault."""
    if not path.is_file():
        raise InputError("no such policy file", where=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", where=str(path)) from None
    return parse_policy(text, where=str(path))


def default_policy() -> PriorityPolicy:
    """The policy shipped with Caseline (``caseline/cases/policies/default.yaml``)."""
    text = resources.files("caseline.cases").joinpath("policies", DEFAULT_POLICY).read_text()
    return parse_policy(text, where=f"caseline/cases/policies/{DEFAULT_POLICY}")


def parse_policy(text: str, *, where: str) -> PriorityPolicy:
    """A policy from its YAML text; ``where`` names it in errors."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InputError(
            f"not YAML ({getattr(exc, 'problem', exc)})", where=f"{where}{line}"
        ) from None
    top = _mapping(document, where, "the policy")
    _only(
        top,
        {"name", "title", "summary", "effective_from", "bound", "rules", "justifications"},
        where,
    )
    rules_raw = top.get("rules")
    if not isinstance(rules_raw, list) or not rules_raw:
        raise InputError("a policy needs a list of rules", where=f"{where}: rules")
    effective = _date(top.get("effective_from"), f"{where}: effective_from")
    rules = tuple(_rule(raw, i, where, effective) for i, raw in enumerate(rules_raw))
    seen: set[str] = set()
    for rule in rules:
        if rule.rule_id in seen:
            raise InputError(f"rule id {rule.rule_id!r} is used twice", where=f"{where}: rules")
        seen.add(rule.rule_id)
    return PriorityPolicy(
        name=_text(top.get("name"), f"{where}: name", 3),
        title=_text(top.get("title"), f"{where}: title", 3),
        summary=_text(top.get("summary"), f"{where}: summary", 20),
        effective_from=effective,
        bound=_bound(top.get("bound"), f"{where}: bound"),
        rules=rules,
        justifications=_justifications(top.get("justifications"), seen, where),
        text=text,
    )


def _rule(raw: object, index: int, where: str, effective: dt.date) -> PriorityRule:
    at = f"{where}: rules[{index}]"
    rule = _mapping(raw, at, "a rule")
    rule_id = rule.get("id")
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        raise InputError(
            "a rule needs an id of lower-case letters, digits and _", where=f"{at}: id"
        )
    at = f"{where}: rule {rule_id}"
    _only(rule, {"id", "title", "legal_basis", "when", "weight", "tier", "effective_from",
                 "effective_until"}, at)  # fmt: skip
    when = _mapping(rule.get("when"), f"{at}: when", "the facts the rule reads")
    if not when:
        raise InputError("a rule reads at least one fact", where=f"{at}: when")
    conditions = tuple(
        _condition(str(name), value, f"{at}: when.{name}") for name, value in when.items()
    )
    weight, tier = rule.get("weight", 0), rule.get("tier", 0)
    if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 1000:
        raise InputError("weight is a whole number from 0 to 1000", where=f"{at}: weight")
    if not isinstance(tier, int) or isinstance(tier, bool) or not 0 <= tier <= 9:
        raise InputError("tier is a whole number from 0 (none) to 9 (first)", where=f"{at}: tier")
    if weight == 0 and tier == 0:
        raise InputError(
            "a rule needs a weight or a tier, or it places nothing", where=f"{at}: weight"
        )
    start = _date(rule.get("effective_from", effective), f"{at}: effective_from")
    end_raw = rule.get("effective_until")
    end = None if end_raw is None else _date(end_raw, f"{at}: effective_until")
    if end is not None and end < start:
        raise InputError(f"ends {end}, before it starts {start}", where=f"{at}: effective_until")
    return PriorityRule(
        rule_id=rule_id,
        title=_text(rule.get("title"), f"{at}: title", 5),
        legal_basis=_text(rule.get("legal_basis"), f"{at}: legal_basis", MIN_LEGAL_BASIS),
        when=conditions,
        weight=weight,
        tier=tier,
        effective_from=start,
        effective_until=end,
    )


def forbidden_word(name: str) -> str | None:
    """The protected word a field's name contains, if any."""
    words = re.split(r"[^a-z]+", name.lower())
    return next((w for w in words if w in FORBIDDEN_WORDS), None)


def _condition(name: str, value: object, at: str) -> Condition:
    word = forbidden_word(name)
    if word is not None:
        raise InputError(
            f"a priority rule may not read {name!r}: {word!r} is a protected attribute or a "
            "place (naming group, nationality, citizenship, sex, neighbourhood and place are "
            "never inputs; the status guard alone reads citizenship)",
            where=at,
        )
    fact = FACTS.get(name)
    if fact is None:
        raise InputError(f"no fact {name!r}; a rule reads only {', '.join(FACTS)}", where=at)
    if fact.kind is FactKind.FLAG:
        if not isinstance(value, bool):
            raise InputError(f"{name} is true or false, not {value!r}", where=at)
        return Condition(name, equals=value)
    if not isinstance(value, dict) or not value or set(value) - {"at_least", "at_most"}:
        raise InputError(
            f"{name} takes {{at_least: N}} and/or {{at_most: N}}, not {value!r}", where=at
        )
    bounds = {}
    for key, number in value.items():
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise InputError(
                f"{key} is a whole number of 0 or more, not {number!r}", where=f"{at}.{key}"
            )
        bounds[key] = number
    return Condition(name, at_least=bounds.get("at_least"), at_most=bounds.get("at_most"))


def _bound(raw: object, at: str) -> ProxyBound:
    bound = _mapping(raw, at, "the proxy bound")
    _only(bound, {"max_share_difference", "min_group_persons", "min_selected_persons"}, at)
    share = bound.get("max_share_difference")
    if not isinstance(share, int | float) or isinstance(share, bool) or not 0 < share < 1:
        raise InputError("a share between 0 and 1, e.g. 0.1", where=f"{at}.max_share_difference")
    persons = bound.get("min_group_persons", 10)
    if not isinstance(persons, int) or isinstance(persons, bool) or persons < 1:
        raise InputError("a whole number of 1 or more", where=f"{at}.min_group_persons")
    selected = bound.get("min_selected_persons", 20)
    if not isinstance(selected, int) or isinstance(selected, bool) or selected < 1:
        raise InputError("a whole number of 1 or more", where=f"{at}.min_selected_persons")
    return ProxyBound(float(share), persons, selected)


def _justifications(raw: object, rule_ids: set[str], where: str) -> tuple[Justification, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError("a list of {rule, dimension, text}", where=f"{where}: justifications")
    found = []
    for i, item in enumerate(raw):
        at = f"{where}: justifications[{i}]"
        entry = _mapping(item, at, "a justification")
        _only(entry, {"rule", "dimension", "text"}, at)
        rule_id, dimension = entry.get("rule"), entry.get("dimension")
        if rule_id not in rule_ids:
            raise InputError(f"no rule {rule_id!r} in this policy", where=f"{at}.rule")
        if dimension not in DIMENSIONS:
            raise InputError(
                f"dimension is one of {', '.join(DIMENSIONS)}", where=f"{at}.dimension"
            )
        text = _text(entry.get("text"), f"{at}.text", MIN_JUSTIFICATION)
        found.append(Justification(str(rule_id), str(dimension), text))
    return tuple(found)


def _mapping(value: object, at: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{what} is a mapping of names to values", where=at)
    return {str(k): v for k, v in value.items()}


def _only(mapping: Mapping[str, object], allowed: set[str], at: str) -> None:
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise InputError(
            f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}", where=at
        )


def _text(value: object, at: str, shortest: int) -> str:
    if not isinstance(value, str) or len(value.strip()) < shortest:
        raise InputError(f"text of at least {shortest} characters", where=at)
    return " ".join(value.split())


def _date(value: object, at: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InputError(f"a date as YYYY-MM-DD, not {value!r}", where=at)
