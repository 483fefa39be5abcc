"""Policy versions: proposed with their impact, published by a second supervisor or admin,
audited; the lead list and the case board in the order of the version in force; a case keeps
the version it was ranked under."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from caseline.cases import (
    LeadRule,
    Thresholds,
    list_board,
    list_policy_versions,
    measure_policy_impact,
    open_case,
    opened_under,
    page_of_leads,
    policy_in_force,
    propose_policy,
    publish_policy,
    read_case,
    read_policy_version,
)
from caseline.cases.priority_policy import parse_policy
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent
from caseline.errors import AccessDenied, ConflictError, InputError
from caseline.oversight import Actor, Role
from tests.test_policy import ALIAS_RULE, AS_OF, policy_text, rule

SAM = Actor("sam", Role.SUPERVISOR)
ADMIN = Actor("adm", Role.ADMIN)
ANN = Actor("ann", Role.ANALYST)
AUD = Actor("aud", Role.AUDITOR)
# Overstays first: the reverse of the shipped default, so that the order visibly changes.
OVERSTAYS_FIRST = policy_text(
    rule("stay_ended", "{overstay_days: {at_least: 1}}", weight=90),
    rule("order", "{final_order: true}", weight=5),
)


def _propose(database: Database, text: str, actor: Actor = SAM) -> int:
    with database.transaction() as session:
        policy = parse_policy(text, where="proposal.yaml")
        impact = measure_policy_impact(session, policy, as_of=AS_OF, actor=actor)
        return propose_policy(
            session, text, where="proposal.yaml", impact=impact, actor=actor
        ).version


def _leads(database: Database) -> list[tuple[LeadRule, int | None, int, dt.date]]:
    with database.transaction() as session:
        page = page_of_leads(session, actor=ANN, as_of=AS_OF, limit=500)
    assert all(lead.priority is not None for lead in page.items)
    return [
        (lead.rule, lead.priority.version, lead.priority.score, lead.since)  # type: ignore[union-attr]
        for lead in page.items
    ]


def _actions(database: Database, action: str) -> list[AuditEvent]:
    with database.transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_lead_list_follows_the_policy_in_force_and_says_which(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    before = _leads(database)
    assert {version for _, version, _, _ in before} == {None}  # the shipped default
    scores = [score for _, _, score, _ in before]
    assert scores == sorted(scores, reverse=True)
    assert before[0][0] is LeadRule.REMOVAL_ORDER_NOT_DEPARTED  # orders first by default
    version = _propose(database, OVERSTAYS_FIRST)
    assert _leads(database) == before  # proposed is not published: nothing moves
    with database.transaction() as session:
        publish_policy(session, version, actor=ADMIN)
    after = _leads(database)
    assert {v for _, v, _, _ in after} == {version}
    assert after[0][0] is LeadRule.STAY_ENDED_NO_EXIT
    firsts = [since for r, _, score, since in after if score == after[0][2]]
    assert firsts == sorted(firsts)  # within a score, the oldest condition first


def test_publishing_is_a_second_supervisors_or_admins_act_and_audited(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with pytest.raises(AccessDenied):
        _propose(database, OVERSTAYS_FIRST, actor=ANN)
    version = _propose(database, OVERSTAYS_FIRST)
    with (
        database.transaction() as session,
        pytest.raises(AccessDenied, match="your own proposal"),
    ):
        publish_policy(session, version, actor=SAM)
    with database.transaction() as session, pytest.raises(AccessDenied):
        publish_policy(session, version, actor=AUD)
    with database.transaction() as session:
        published = publish_policy(session, version, actor=ADMIN)
    assert (published.proposed_by, published.published_by) == ("sam", "adm")
    with database.transaction() as session, pytest.raises(ConflictError, match="published"):
        publish_policy(session, version, actor=Actor("sue", Role.SUPERVISOR))
    [proposed] = _actions(database, "propose_policy")
    [event] = _actions(database, "publish_policy")
    assert (proposed.actor, proposed.object_id) == ("sam", str(version))
    assert (event.actor, event.object_id, event.details["proposed_by"]) == (
        "adm",
        str(version),
        "sam",
    )
    assert _actions(database, "measure_policy_impact")


def test_old_versions_stay_readable_and_the_newest_published_is_in_force(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    first = _propose(database, OVERSTAYS_FIRST)
    later = OVERSTAYS_FIRST.replace("effective_from: 2025-01-01", "effective_from: 2026-06-01")
    second = _propose(database, later.replace("test-policy", "test-policy-two"))
    with database.transaction() as session:
        publish_policy(session, first, actor=ADMIN)
        publish_policy(session, second, actor=ADMIN)
        assert policy_in_force(session, AS_OF).version == first  # the second not yet in effect
        assert policy_in_force(session, dt.date(2026, 6, 1)).version == second
        versions = list_policy_versions(session, actor=AUD)
        assert [v.version for v in versions] == [second, first]
        old = read_policy_version(session, first, actor=AUD)
    assert old.policy.name == "test-policy" and old.impact is not None
    assert old.impact["policy_sha256"] == old.policy.sha256


def test_a_policy_with_an_unjustified_proxy_cannot_be_proposed(
    mutable_resolved: tuple[Settings, Database], small_world: object
) -> None:
    from caseline.cases import read_world_truth

    _, database = mutable_resolved
    truth = read_world_truth(small_world.truth_file, small_world.file("persons"))  # type: ignore[attr-defined]
    text = policy_text(ALIAS_RULE)
    with database.transaction() as session:
        policy = parse_policy(text, where="proxy.yaml")
        impact = measure_policy_impact(session, policy, as_of=AS_OF, actor=SAM, truth=truth)
        with pytest.raises(InputError, match="rule alias_use: naming_group"):
            propose_policy(session, text, where="proxy.yaml", impact=impact, actor=SAM)
        with pytest.raises(InputError, match="another text"):
            propose_policy(session, OVERSTAYS_FIRST, where="p.yaml", impact=impact, actor=SAM)
    with database.transaction() as session:
        assert list_policy_versions(session, actor=SAM) == []


def test_a_case_keeps_the_version_it_was_ranked_under_and_the_board_ranks_by_the_new_one(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    first = _propose(database, OVERSTAYS_FIRST)
    with database.transaction() as session:
        publish_policy(session, first, actor=ADMIN)
        lead = page_of_leads(session, actor=ANN, as_of=AS_OF).items[0]
        case = open_case(session, actor=ANN, as_of=AS_OF, lead_id=lead.lead_id)
    second = _propose(database, OVERSTAYS_FIRST.replace("weight: 90", "weight: 70"))
    with database.transaction() as session:
        publish_policy(session, second, actor=ADMIN)
        detail = read_case(session, case.id, actor=ANN, thresholds=Thresholds.of(settings),
                           as_of=AS_OF)  # fmt: skip
        board = list_board(session, actor=ANN, as_of=AS_OF)
    kept = opened_under(detail.case.origin)
    assert kept is not None and kept.version == first and kept.score == lead.priority.score  # type: ignore[union-attr]
    [row] = [row for row in board if row.case.id == case.id]
    assert row.priority is not None and row.priority.version == second
    assert row.priority.describe().startswith(f"ranked by policy v{second}: ")


def test_a_data_engineer_simulates_under_a_chosen_version(
    mutable_resolved: tuple[Settings, Database], small_world: object
) -> None:
    from caseline.cases import simulate_under_policy

    settings, database = mutable_resolved
    version = _propose(database, OVERSTAYS_FIRST)  # proposed, not published: still simulated
    world = small_world
    with database.transaction() as session:
        result = simulate_under_policy(
            session, truth_records=world.truth_file,  # type: ignore[attr-defined]
            truth_persons=world.file("persons"),  # type: ignore[attr-defined]
            as_of=AS_OF, thresholds=Thresholds.of(settings),
            actor=Actor("eve", Role.DATA_ENGINEER), version=version, capacity=3,
        )  # fmt: skip
        with pytest.raises(AccessDenied):
            simulate_under_policy(
                session, truth_records=world.truth_file,  # type: ignore[attr-defined]
                truth_persons=world.file("persons"),  # type: ignore[attr-defined]
                as_of=AS_OF, thresholds=Thresholds.of(settings), actor=SAM, version=version,
            )  # fmt: skip
    assert (result.version, result.policy, result.capacity) == (version, "test-policy", 3)
    worked = [w.lead.rule for w in result.simulation.worked]
    assert worked and all(rule is LeadRule.STAY_ENDED_NO_EXIT for rule in worked)
