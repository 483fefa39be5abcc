"""Priorities as published policy: the loader refuses forbidden fields by name and proxy
rules by measurement on the generated world; ranking is a pure function of facts and policy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from caseline.cases import priority_facts
from caseline.cases.priority_facts import facts_of_persons
from caseline.cases.priority_impact import measure_impact, read_world_truth, refuse_proxies
from caseline.cases.priority_policy import (
    FACTS,
    default_policy,
    load_policy_file,
    parse_policy,
)
from caseline.cases.priority_ranking import rank
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import Person
from caseline.errors import InputError
from caseline.synth import WorldSummary

AS_OF = dt.date(2026, 1, 1)  # the small world's reference date
LEGAL = "INA § 241(a)(1)(A), 8 U.S.C. § 1231(a)(1)(A): removal within ninety days of the order."
HEADER = """
name: test-policy
title: A policy written for a test
summary: A policy written for a test, to be loaded and measured.
effective_from: 2025-01-01
bound: {max_share_difference: 0.05, min_group_persons: 10, min_selected_persons: 20}
"""


def policy_text(*rules: str, justifications: str = "") -> str:
    return HEADER + "rules:\n" + "".join(rules) + justifications


def rule(rule_id: str, when: str, weight: int = 10, tier: int = 0, basis: str = LEGAL) -> str:
    return (
        f'  - id: {rule_id}\n    title: The rule {rule_id}\n    legal_basis: "{basis}"\n'
        f"    when: {when}\n    weight: {weight}\n    tier: {tier}\n"
    )


ALIAS_RULE = rule("alias_use", "{family_name_variants: {at_least: 1}}", weight=20)


def test_the_shipped_default_loads_with_a_legal_basis_and_known_facts_for_every_rule() -> None:
    policy = default_policy()
    assert policy.rules
    for r in policy.rules:
        assert len(r.legal_basis) >= 40 and "U.S.C." in r.legal_basis, r.rule_id
        assert set(r.reads) <= set(FACTS)
        assert r.weight or r.tier


@pytest.mark.parametrize(
    "field",
    ["naming_group", "nationality", "citizenship", "sex", "neighbourhood", "home_postcode",
     "country_of_birth", "place"],
)  # fmt: skip
def test_a_rule_naming_a_protected_field_is_refused_by_name(field: str, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        policy_text(rule("ok", "{final_order: true}"), rule("bad", f"{{{field}: true}}"))
    )
    with pytest.raises(InputError) as refused:
        load_policy_file(path)
    message = str(refused.value)
    assert str(path) in message and "rule bad" in message and f"when.{field}" in message
    assert "may not read" in message


@pytest.mark.parametrize(
    ("text", "where", "why"),
    [
        (policy_text(rule("a", "{no_such_fact: true}")), "rule a: when.no_such_fact", "no fact"),
        (policy_text(rule("a", "{final_order: 3}")), "rule a: when.final_order", "true or false"),
        (policy_text(rule("a", "{overstay_days: {more: 3}}")), "when.overstay_days", "at_least"),
        (policy_text(rule("a", "{final_order: true}", weight=-1)), "rule a: weight", "0 to 1000"),
        (policy_text(rule("a", "{final_order: true}", weight=0)), "rule a: weight", "places"),
        (policy_text(rule("a", "{final_order: true}", basis="the law")), "legal_basis", "40"),
        (policy_text(rule("a", "{final_order: true}"), rule("a", "{final_order: true}")),
         "rules", "twice"),
        (policy_text(rule("a", "{final_order: true}"), justifications=(
            "justifications:\n  - {rule: b, dimension: sex, text: x}\n")),
         "justifications[0].rule", "no rule"),
        (HEADER + "rules: [", "policy.yaml:", "not YAML"),
    ],
)  # fmt: skip
def test_a_faulty_policy_is_refused_naming_where_and_why(text: str, where: str, why: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_policy(text, where="policy.yaml")
    assert where in str(refused.value) and why in str(refused.value)


def test_ranking_puts_tiers_first_then_weight_then_the_oldest_condition() -> None:
    policy = parse_policy(
        policy_text(
            rule("conviction", "{court_conviction: true}", weight=5, tier=1),
            rule("order", "{final_order: true}", weight=40),
            rule("old_order", "{final_order_days: {at_least: 365}}", weight=10),
        ),
        where="t",
    )
    items = {
        "convicted": ({"court_conviction": True}, dt.date(2025, 6, 1)),
        "old order": ({"final_order": True, "final_order_days": 400}, dt.date(2024, 1, 1)),
        "new order": ({"final_order": True, "final_order_days": 30}, dt.date(2025, 11, 1)),
        "order b": ({"final_order": True, "final_order_days": 31}, dt.date(2025, 10, 31)),
        "nothing": ({}, dt.date(2020, 1, 1)),
    }
    ranked = rank(
        list(items), policy=policy, version=7, on=AS_OF,
        facts=lambda k: items[k][0], since=lambda k: items[k][1], key=str,
    )  # fmt: skip
    assert [k for k, _ in ranked] == ["convicted", "old order", "order b", "new order", "nothing"]
    old = dict(ranked)["old order"]
    assert (old.version, old.rank, old.score) == (7, 2, 50)
    assert old.describe() == "ranked by policy v7: order (+40), old_order (+10)"
    assert dict(ranked)["nothing"].describe().endswith("no rule applies (score 0)")


def test_a_rule_in_force_only_from_its_date_places_nothing_before() -> None:
    text = policy_text(rule("order", "{final_order: true}")).replace(
        "    tier: 0\n", "    tier: 0\n    effective_from: 2026-06-01\n"
    )
    policy = parse_policy(text, where="t")
    assert policy.rules_in_force(AS_OF) == ()
    assert [r.rule_id for r in policy.rules_in_force(dt.date(2026, 6, 1))] == ["order"]


def test_facts_are_read_from_the_persons_own_records(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    with database.transaction() as session:
        from caseline.cases import find_leads

        leads = find_leads(session, AS_OF)
        facts = facts_of_persons(session, [lead.person_id for lead in leads], AS_OF)
    assert leads
    for lead in leads:
        assert set(facts[lead.person_id]) == set(FACTS)
        if lead.rule.value == "removal_order_not_departed":
            assert facts[lead.person_id]["final_order"] is True
            assert facts[lead.person_id]["final_order_days"] == (AS_OF - lead.since).days


def test_facts_of_many_persons_are_read_a_chunk_at_a_time_with_the_same_result(
    resolved: tuple[Settings, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A policy's impact asks for every person; PostgreSQL takes at most 65,535 bound values
    a statement, so the persons are read in chunks, and chunking changes nothing."""
    _, database = resolved
    with database.transaction() as session:
        person_ids = list(session.scalars(select(Person.person_id)))
        whole = facts_of_persons(session, person_ids, AS_OF)
        monkeypatch.setattr(priority_facts, "_CHUNK", 7)
        chunked = facts_of_persons(session, person_ids, AS_OF)
    assert len(person_ids) > 7 * 3
    assert chunked == whole
    assert set(whole) == set(person_ids)


def test_a_rule_on_a_fact_one_naming_groups_records_carry_is_refused_as_a_proxy(
    resolved: tuple[Settings, Database], small_world: WorldSummary
) -> None:
    """Records that give more than one family name look like an alias; in the generated world
    they are mostly the records of persons with two family names (one naming convention)."""
    _, database = resolved
    truth = read_world_truth(small_world.truth_file, small_world.file("persons"))
    policy = parse_policy(policy_text(rule("order", "{final_order: true}"), ALIAS_RULE), where="t")
    with database.transaction() as session:
        report = measure_impact(session, policy, as_of=AS_OF, truth=truth, where="small world")
    alias = next(r for r in report.rules if r.rule_id == "alias_use")
    groups = {s.value: s for s in alias.by["naming_group"]}
    # Measured, not assumed: the rule takes most hispanic persons and far fewer anglo ones.
    assert groups["hispanic"].selected / groups["hispanic"].persons > 0.7
    assert groups["anglo"].selected / groups["anglo"].persons < 0.5
    assert {f.rule_id for f in report.unjustified} == {"alias_use"}
    with pytest.raises(InputError) as refused:
        refuse_proxies(report)
    assert "rule alias_use: naming_group" in str(refused.value)
    assert "order" not in {f.rule_id for f in report.findings}  # too few to measure, listed
    assert "order" in [r.rule_id for r in report.unmeasured()]


def test_a_written_justification_lets_a_rule_beyond_the_bound_through(
    resolved: tuple[Settings, Database], small_world: WorldSummary
) -> None:
    _, database = resolved
    truth = read_world_truth(small_world.truth_file, small_world.file("persons"))
    justification = (
        "justifications:\n  - rule: alias_use\n    dimension: naming_group\n    text: >-\n"
        "      Written for the test: the difference is known and accepted after review by the\n"
        "      oversight board, which recorded its reasons in minutes 12 of 2026.\n"
    )
    policy = parse_policy(policy_text(ALIAS_RULE, justifications=justification), where="t")
    with database.transaction() as session:
        report = measure_impact(session, policy, as_of=AS_OF, truth=truth)
    assert report.findings and all(
        f.justified for f in report.findings if f.dimension == "naming_group"
    )
    sex_or_place = [f for f in report.findings if f.dimension != "naming_group"]
    assert report.unjustified == sex_or_place


def test_a_persons_file_without_groups_is_refused_naming_the_file(
    small_world: WorldSummary, tmp_path: Path
) -> None:
    persons = tmp_path / "persons.csv"
    persons.write_text("entity_id,status,current_address\nE1,citizen_birth,\n")
    with pytest.raises(InputError, match="missing columns: group, sex") as refused:
        read_world_truth(small_world.truth_file, persons)
    assert refused.value.where == f"{persons}:1"
    persons.write_bytes(b"entity_id,group,sex\n\xff\xfe,anglo,F\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_world_truth(small_world.truth_file, persons)
