"""The case lifecycle on a resolved world: leads, steps, guards, dossiers, conflicts."""

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.cases import (
    OUTCOMES,
    TRANSITIONS,
    LeadRule,
    State,
    Thresholds,
    find_leads,
    list_cases,
    open_case,
    read_case,
    read_person_on_case,
    take_step,
)
from caseline.cases.dossier import sha256
from caseline.cases.workflow import (
    ACTIVE,
    Field,
    Transition,
    lifecycle_markdown,
    transitions_from,
)
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, CaseTransition, Person, PersonRecord
from caseline.errors import AccessDenied, ConflictError, GuardStopped, InputError
from caseline.oversight import Actor, Role
from caseline.profiles import (
    load_status_records,
    person_addresses,
    person_status,
    status_by_person,
)
from caseline.resolve.decisions import Decision, decide_pair
from caseline.standardise.status import StatusTerm
from tests.case_pages import in_doubt

AS_OF = dt.date(2026, 1, 1)  # the small world's reference date
THRESHOLDS = Thresholds(identity=0.95, address=0.5)
ANN = Actor("ann", Role.ANALYST)
SAM = Actor("sam", Role.SUPERVISOR)
SUE = Actor("sue", Role.SUPERVISOR)
LEE = Actor("lee", Role.LEGAL)
DOCS = Path(__file__).resolve().parents[1] / "docs" / "cases.md"
BEGUN = "the lead is worth a review"


def test_the_lifecycle_is_whole() -> None:
    for state in ACTIVE:
        assert transitions_from(state), f"{state} has no way out"
    for state in OUTCOMES:
        assert transitions_from(state) == [], f"{state} is an outcome yet has a next step"
    reachable = {State.LEAD}
    for _ in State:
        reachable |= {t.target for t in TRANSITIONS if t.target and set(t.sources) & reachable}
    assert reachable == set(State)
    assert all(t.roles for t in TRANSITIONS)


def test_every_step_of_the_lifecycle_needs_a_reason() -> None:
    assert all(Field.REASON in t.fields for t in TRANSITIONS)
    with pytest.raises(ValueError, match="step look keeps no reason"):
        Transition("look", "Look", (State.LEAD,), None, frozenset({Role.ANALYST}), fields=())


def test_a_step_without_a_reason_is_refused_and_nothing_changes(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    case_id, version = _open_removal_case(database)
    walker = Walker(database, case_id, version)
    for given in ({}, {"reason": ""}, {"reason": " \t\n "}, {"reason": "  ok  "}):
        with pytest.raises(InputError, match="begin_review needs a reason of at least 5") as e:
            walker.step(ANN, "begin_review", **given)
        assert e.value.where == "reason"
    with database.transaction() as session:
        taken = select(CaseTransition.id).where(CaseTransition.case_id == case_id)
        audited = select(AuditEvent.seq).where(
            AuditEvent.case_id == str(case_id), AuditEvent.action == "take_case_step"
        )
        assert session.scalars(taken).all() == [] and session.scalars(audited).all() == []
        detail = read_case(session, case_id, actor=ANN, thresholds=THRESHOLDS, as_of=AS_OF)
    assert detail.case.state == State.LEAD and detail.case.version == version
    assert walker.step(ANN, "begin_review", reason=f"  {BEGUN}\n") is State.IDENTITY_REVIEW
    with database.transaction() as session:
        detail = read_case(session, case_id, actor=SAM, thresholds=THRESHOLDS, as_of=AS_OF)
    [step] = detail.history
    taken_as = (step.actor, step.role, step.from_state, step.to_state, step.reason)
    assert taken_as == ("ann", "analyst", "lead", "identity_review", BEGUN)


def test_the_lifecycle_diagram_in_the_docs_is_current() -> None:
    written = re.search(
        r"<!-- lifecycle:start -->\n(.*)<!-- lifecycle:end -->", DOCS.read_text(), re.S
    )
    assert written is not None and written.group(1) == lifecycle_markdown(), (
        "docs/cases.md is stale: paste `caseline cases lifecycle` between its markers"
    )


def test_leads_rest_on_the_records_they_name(resolved: tuple[Settings, Database]) -> None:
    _, database = resolved
    with database.transaction() as session:
        leads = find_leads(session, AS_OF)
        rules = {lead.rule for lead in leads}
        assert {LeadRule.REMOVAL_ORDER_NOT_DEPARTED, LeadRule.STAY_ENDED_NO_EXIT} <= rules
        for lead in leads:
            owners = set(
                session.scalars(
                    select(PersonRecord.person_id).where(PersonRecord.record_id.in_(lead.records))
                )
            )
            assert owners == {lead.person_id}
            assert lead.since <= AS_OF
    assert len({lead.lead_id for lead in leads}) == len(leads)


def _open_removal_case(database: Database) -> tuple[int, int]:
    with database.transaction() as session:
        lead = next(
            lead
            for lead in find_leads(session, AS_OF, rules=[LeadRule.REMOVAL_ORDER_NOT_DEPARTED])
            if _walkable(session, lead.person_id)
            and not in_doubt(session, lead.person_id, lead.records)
        )
        case = open_case(session, actor=ANN, as_of=AS_OF, lead_id=lead.lead_id)
    return case.id, case.version


def _walkable(session: Session, person_id: str) -> bool:
    """A person no guard should stop: no status stop, and a likely address."""
    status = person_status(load_status_records(session, [person_id]), AS_OF)
    addresses = person_addresses(session, person_id, AS_OF).addresses
    return not status.stopping and bool(addresses) and addresses[0].probability >= 0.5


class Walker:
    """Takes steps on one case, as each actor, with the version last seen."""

    def __init__(self, database: Database, case_id: int, version: int) -> None:
        self.database, self.case_id, self.version = database, case_id, version

    def step(self, actor: Actor, action: str, **fields: str) -> State:
        with self.database.transaction() as session:
            detail = take_step(
                session, self.case_id, action, actor=actor, expected_version=self.version,
                fields=fields, thresholds=THRESHOLDS, as_of=AS_OF,
            )  # fmt: skip
        self.version = detail.case.version
        return State(detail.case.state)

    def read_person(self, actor: Actor) -> str:
        with self.database.transaction() as session:
            profile = read_person_on_case(session, self.case_id, actor=actor, as_of=AS_OF)
        assert profile.addresses is not None and profile.addresses.addresses
        return profile.addresses.addresses[0].address


def test_a_case_walks_from_its_lead_to_removal_with_a_dossier_at_each_step(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    walker = Walker(database, *_open_removal_case(database))
    assert walker.step(ANN, "begin_review", reason=BEGUN) is State.IDENTITY_REVIEW
    with pytest.raises(GuardStopped, match="identity_seen"):
        walker.step(ANN, "confirm_identity", reason="records and links checked")
    address = walker.read_person(ANN)
    assert walker.step(ANN, "confirm_identity", reason="records and links checked") is (
        State.STATUS_REVIEW
    )
    walker.step(ANN, "propose_action", address=address, reason="the likeliest address")
    with pytest.raises(AccessDenied, match="approve_action is taken by supervisor"):
        walker.step(ANN, "approve_action", reason="my own approval")
    assert walker.step(SAM, "approve_action", reason="approved") is State.ENFORCEMENT_ACTION
    walker.step(ANN, "serve_notice", reason="served at the address")
    walker.step(LEE, "schedule_hearing", hearing_on="2026-03-01", reason="calendar")
    walker.step(LEE, "record_removal_order", reason="the judge ordered removal")
    assert walker.step(SUE, "carry_out_removal", reason="removed") is State.REMOVED
    with database.transaction() as session:
        steps = session.scalars(
            select(CaseTransition)
            .where(CaseTransition.case_id == walker.case_id)
            .order_by(CaseTransition.id)
        ).all()
        audited = session.scalars(
            select(AuditEvent).where(
                AuditEvent.case_id == str(walker.case_id), AuditEvent.action == "take_case_step"
            )
        ).all()
        detail = read_case(session, walker.case_id, actor=ANN, thresholds=THRESHOLDS, as_of=AS_OF)
    assert [s.action for s in steps][-1] == "carry_out_removal"
    assert len(audited) == len(steps) == 8
    for step in steps:
        if step.dossier is not None:
            assert sha256(step.dossier) == step.dossier_sha256
            assert '"person_sha256"' in step.dossier and address in step.dossier
    assert sum(s.dossier is not None for s in steps) == 6
    assert detail.next_steps == [] and detail.case.state == State.REMOVED


def test_the_proposer_cannot_approve(mutable_resolved: tuple[Settings, Database]) -> None:
    _, database = mutable_resolved
    walker = Walker(database, *_open_removal_case(database))
    walker.step(ANN, "begin_review", reason=BEGUN)
    address = walker.read_person(ANN)
    walker.step(ANN, "confirm_identity", reason="records and links checked")
    walker.step(SAM, "propose_action", address=address, reason="a supervisor proposes")
    with pytest.raises(GuardStopped, match="two_people: sam proposed"):
        walker.step(SAM, "approve_action", reason="and approves")
    assert walker.step(SUE, "approve_action", reason="another approves") is (
        State.ENFORCEMENT_ACTION
    )


def test_a_protective_status_record_stops_the_case_until_legal_clears_it(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        statuses = status_by_person(load_status_records(session), AS_OF)
        assured = set(
            session.scalars(select(Person.person_id).where(Person.assurance >= THRESHOLDS.identity))
        )
        person_id = next(
            pid for pid, status in sorted(statuses.items())
            if pid in assured
            and any(e.term is StatusTerm.PERMANENT_RESIDENT for e in status.stopping)
        )  # fmt: skip
        case = open_case(
            session, actor=ANN, as_of=AS_OF, person_id=person_id, reason="tip from a profile"
        )
    walker = Walker(database, case.id, case.version)
    walker.step(ANN, "begin_review", reason=BEGUN)
    address = walker.read_person(ANN)
    walker.step(ANN, "confirm_identity", reason="records and links checked")
    stop = r"status_clear: status stop: .*permanent_resident"
    with pytest.raises(GuardStopped, match=stop) as e:
        walker.step(ANN, "propose_action", address=address, reason="act at the address")
    assert {"guard": "status_clear", "passed": False} in [
        {k: g[k] for k in ("guard", "passed")} for g in e.value.details["guards"]
    ]
    with pytest.raises(AccessDenied):
        walker.step(ANN, "clear_status", reason="analysts cannot clear")
    walker.step(LEE, "clear_status", reason="the green card was revoked in 2020 (file 123)")
    with database.transaction() as session:
        detail = read_case(session, case.id, actor=ANN, thresholds=THRESHOLDS, as_of=AS_OF)
    propose = next(s for s in detail.next_steps if s.action == "propose_action")
    assert next(g for g in propose.guards if g.guard == "status_clear").passed


def test_two_steps_at_once_one_wins_the_other_sees_the_new_state(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    case_id, version = _open_removal_case(database)
    first, second = Walker(database, case_id, version), Walker(database, case_id, version)
    first.step(ANN, "begin_review", reason=BEGUN)
    with pytest.raises(ConflictError, match="now identity_review at version 2") as conflict:
        second.step(ANN, "begin_review", reason=BEGUN)
    assert conflict.value.details == {"case_id": case_id, "state": "identity_review", "version": 2}
    with database.transaction() as session:
        steps = session.scalars(
            select(CaseTransition).where(CaseTransition.case_id == case_id)
        ).all()
    assert len(steps) == 1


def test_a_link_decision_on_the_person_blocks_the_case_until_reconfirmed(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    walker = Walker(database, *_open_removal_case(database))
    walker.step(ANN, "begin_review", reason=BEGUN)
    address = walker.read_person(ANN)
    walker.step(ANN, "confirm_identity", reason="records and links checked")
    with database.transaction() as session:
        case = list_cases(session, actor=ANN)[0]
        records = sorted(
            session.scalars(
                select(PersonRecord.record_id).where(PersonRecord.person_id == case.person_id)
            )
        )
        other = session.scalars(
            select(PersonRecord.record_id)
            .where(PersonRecord.person_id != case.person_id)
            .order_by(PersonRecord.record_id)
        ).first()
        assert other is not None
        decide_pair(session, SAM, records[0], other, Decision.DIFFERENT_PERSONS, "not the same")
    with pytest.raises(GuardStopped, match="identity_confirmed: resolution changed the person"):
        walker.step(ANN, "propose_action", address=address, reason="act at the address")
    with pytest.raises(GuardStopped, match="identity_seen"):
        walker.step(ANN, "reconfirm_identity", reason="checked again")
    walker.read_person(ANN)
    walker.step(ANN, "reconfirm_identity", reason="checked again")
    assert walker.step(ANN, "propose_action", address=address, reason="act at the address") is (
        State.SUPERVISOR_APPROVAL
    )


def test_roles_outside_casework_cannot_open_or_read_cases(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    with database.transaction() as session, pytest.raises(AccessDenied):
        open_case(session, actor=LEE, as_of=AS_OF, person_id="P0", reason="legal opens none")
    with database.transaction() as session, pytest.raises(AccessDenied):
        list_cases(session, actor=Actor("aud", Role.AUDITOR))


def test_a_change_of_thresholds_is_audited_when_it_takes_effect(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    case_id, version = _open_removal_case(database)
    stricter = Thresholds(identity=0.99, address=0.7)
    for thresholds, action in (
        (THRESHOLDS, "begin_review"),
        (THRESHOLDS, "close"),
    ):
        with database.transaction() as session:
            version = take_step(
                session, case_id, action, actor=ANN if action != "close" else SAM,
                expected_version=version, fields={"reason": "closing the demo case"},
                thresholds=thresholds, as_of=AS_OF,
            ).case.version  # fmt: skip
    case_id, version = _open_removal_case(database)
    with database.transaction() as session:
        take_step(
            session, case_id, "begin_review", actor=ANN, expected_version=version,
            fields={"reason": "the lead is worth a review"},
            thresholds=stricter, as_of=AS_OF,
        )  # fmt: skip
        noted = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "change_case_thresholds")
            .order_by(AuditEvent.seq)
        ).all()
    assert [(e.details["identity"], e.details["previous_identity"]) for e in noted] == [
        (0.95, None),
        (0.99, 0.95),
    ]
    assert noted[-1].actor == "ann" and noted[-1].details["address"] == 0.7
