"""Disputes and redress on a resolved world: the lifecycle, who may do what, each upheld
dispute's new facts (none deleted), records leaving the scores while open, audit rows."""

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseline.cases import (
    DisputeKind,
    DisputeState,
    LeadRule,
    decide_dispute,
    facts_of,
    file_dispute,
    find_leads,
    list_disputes,
    open_case,
    read_dispute,
    start_review,
)
from caseline.cases.guards import Thresholds
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, LinkDecision, Person, PersonRecord, SourceRecord
from caseline.errors import AccessDenied, ConflictError, InputError, NotFoundError
from caseline.oversight import Actor, Role
from caseline.profiles import build_profile, load_status_records, person_addresses, person_status
from caseline.resolve.decisions import load_decisions
from caseline.standardise.status import StatusTerm
from tests.conftest import last_audit_seq

AS_OF = dt.date(2026, 1, 1)
LEE = Actor("lee", Role.LEGAL)  # files, for the person
LIZ = Actor("liz", Role.LEGAL)  # reviews
ANN = Actor("ann", Role.ANALYST)
SAM = Actor("sam", Role.SUPERVISOR)
AUD = Actor("aud", Role.AUDITOR)
GROUNDS = "the person was never at this place"


def _person_with_addresses(session: Session, *, single_record_top: bool = False) -> str:
    """A person with two or more own addresses (the top one on one record, if asked)."""
    for person_id in session.scalars(
        select(Person.person_id).where(Person.record_count >= 3).order_by(Person.person_id)
    ):
        found = person_addresses(session, person_id, AS_OF).addresses
        own = [a for a in found if not a.lead]
        if len(own) >= 2 and (not single_record_top or own[0].records == 1):
            return person_id
    raise AssertionError("no person with two addresses in the small world")


def _record_at(session: Session, person_id: str, address: str) -> str:
    """A record of the person at ``address`` as the profile shows it (its number and ZIP)."""
    number, postcode = address.split()[0], address.split()[-1]
    found = session.scalars(
        select(SourceRecord.record_id)
        .join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
        .where(
            PersonRecord.person_id == person_id,
            SourceRecord.street_number == number,
            SourceRecord.postcode == postcode,
        )
        .order_by(SourceRecord.record_id)
    ).first()
    assert found is not None, f"no record of {person_id} at {address}"
    return found


def _any_record(session: Session, person_id: str) -> str:
    return (
        session.scalars(
            select(PersonRecord.record_id)
            .where(PersonRecord.person_id == person_id)
            .order_by(PersonRecord.record_id)
        ).first()
        or ""
    )


def _take_up(database: Database, dispute_id: int, *, uphold: bool) -> DisputeState:
    with database.transaction() as session:
        start_review(session, LIZ, dispute_id)
    with database.transaction() as session:
        decided = decide_dispute(
            session, LIZ, dispute_id, uphold=uphold, reason="checked against the document"
        )
    return decided.state


def test_a_dispute_is_filed_reviewed_by_another_and_decided_with_every_step_audited(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    since = last_audit_seq(database)
    with database.transaction() as session:
        person_id = _person_with_addresses(session)
        record_id = _any_record(session, person_id)
        with pytest.raises(AccessDenied):
            file_dispute(session, ANN, person_id=person_id, record_id=record_id,
                         kind="not_me", grounds=GROUNDS)  # fmt: skip
        with pytest.raises(InputError, match="10 characters"):
            file_dispute(session, LEE, person_id=person_id, record_id=record_id,
                         kind="not_me", grounds="no")  # fmt: skip
        with pytest.raises(NotFoundError):
            file_dispute(session, LEE, person_id="P-none", record_id=record_id,
                         kind="not_me", grounds=GROUNDS)  # fmt: skip
        filed = file_dispute(
            session, LEE, person_id=person_id, record_id=record_id, kind="not_me", grounds=GROUNDS
        )
    assert filed.state is DisputeState.FILED and filed.filed_by == "lee"
    with database.transaction() as session, pytest.raises(ConflictError, match="already open"):
        file_dispute(session, LEE, person_id=person_id, record_id=record_id,
                     kind="not_me", grounds=GROUNDS)  # fmt: skip
    with database.transaction() as session:
        with pytest.raises(AccessDenied, match="another must review"):
            start_review(session, LEE, filed.id)
        with pytest.raises(AccessDenied):
            start_review(session, SAM, filed.id)
        with pytest.raises(ConflictError, match="take it up for review"):
            decide_dispute(session, LIZ, filed.id, uphold=False, reason="not yet under review")
        assert [d.id for d in list_disputes(session, SAM, state="filed")] == [filed.id]
        with pytest.raises(AccessDenied):
            list_disputes(session, AUD)
        with pytest.raises(AccessDenied):
            read_dispute(session, ANN, filed.id)
    assert _take_up(database, filed.id, uphold=False) is DisputeState.REJECTED
    with database.transaction() as session:
        shown = read_dispute(session, LEE, filed.id)
        with pytest.raises(ConflictError):
            decide_dispute(session, LIZ, filed.id, uphold=True, reason="changed my mind now")
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.seq > since).order_by(AuditEvent.seq)
        ).all()
        removals = session.scalar(select(func.count()).select_from(LinkDecision))
    assert shown.reviewer == "liz" and shown.reason == "checked against the document"
    assert shown.effect == {} and removals == 0  # a rejected dispute adds nothing
    assert actions == [
        "file_dispute", "list_disputes", "review_dispute", "decide_dispute", "read_dispute",
    ]  # fmt: skip


def test_a_record_under_open_dispute_leaves_the_scores_until_it_is_decided(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        person_id = _person_with_addresses(session, single_record_top=True)
        top = person_addresses(session, person_id, AS_OF).addresses[0].address
        record_id = _record_at(session, person_id, top)
        filed = file_dispute(session, LEE, person_id=person_id, record_id=record_id,
                             kind="value", field="given_name", value="MARIA",
                             grounds="the given name on this record is misspelt")  # fmt: skip
    with database.transaction() as session:
        during = [a.address for a in person_addresses(session, person_id, AS_OF).addresses]
        profile = build_profile(session, person_id, AS_OF)
    assert top not in during
    assert [(d.id, d.open) for d in profile.disputes] == [(filed.id, True)]
    assert record_id in {r.record_id for r in profile.records}  # shown, with its dispute
    assert _take_up(database, filed.id, uphold=False) is DisputeState.REJECTED
    with database.transaction() as session:
        after = [a.address for a in person_addresses(session, person_id, AS_OF).addresses]
    assert top in after


def test_an_upheld_not_my_address_leaves_the_address_out_of_the_persons_scores(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        person_id = _person_with_addresses(session)
        top = person_addresses(session, person_id, AS_OF).addresses[0].address
        record_id = _record_at(session, person_id, top)
        stored_before = session.get(SourceRecord, record_id)
        assert stored_before is not None
        raw = stored_before.address_raw
        filed = file_dispute(session, LEE, person_id=person_id, record_id=record_id,
                             kind=DisputeKind.NOT_MY_ADDRESS, grounds=GROUNDS)  # fmt: skip
    assert _take_up(database, filed.id, uphold=True) is DisputeState.UPHELD
    with database.transaction() as session:
        after = person_addresses(session, person_id, AS_OF)
        stored = session.get(SourceRecord, record_id)
        shown = read_dispute(session, LIZ, filed.id)
    assert top not in [a.address for a in after.addresses]
    assert stored is not None and stored.address_raw == raw  # the record is not edited
    assert shown.effect["address_key"]


def test_an_upheld_not_me_cannot_links_the_record_and_drops_it_from_the_profile(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        person_id = _person_with_addresses(session)
        record_id = _any_record(session, person_id)
        others = session.scalar(
            select(func.count()).where(
                PersonRecord.person_id == person_id, PersonRecord.record_id != record_id
            )
        )
        filed = file_dispute(session, LEE, person_id=person_id, record_id=record_id,
                             kind="not_me", grounds="another woman of the same name")  # fmt: skip
    assert _take_up(database, filed.id, uphold=True) is DisputeState.UPHELD
    with database.transaction() as session:
        profile = build_profile(session, person_id, AS_OF)
        apart = [pair for pair in load_decisions(session).apart if record_id in pair]
        still_held = session.get(PersonRecord, record_id)
        statuses = {r.record_id for r in load_status_records(session, [person_id])}
    assert record_id not in {r.record_id for r in profile.records}
    assert len(apart) == others
    assert still_held is not None  # until the next resolution run moves it
    assert record_id not in statuses
    with database.transaction() as session:  # moved, as the next resolution run would
        other = session.scalars(
            select(Person.person_id).where(Person.person_id != person_id).order_by(Person.person_id)
        ).first()
        held = session.get(PersonRecord, record_id)
        assert other is not None and held is not None
        held.person_id = other
    with database.transaction() as session:
        moved = build_profile(session, other, AS_OF)
    assert record_id in {r.record_id for r in moved.records}  # the other person's, shown


def test_an_upheld_status_dispute_adds_a_status_record_with_its_document(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        person_id = _person_with_addresses(session)
        record_id = _any_record(session, person_id)
        filed = file_dispute(
            session, LEE, person_id=person_id, record_id=record_id, kind="status",
            value="permanent_resident", document="I-551 card 0042, issued 2019-05-02",
            grounds="a permanent resident since 2019, card attached",
        )  # fmt: skip
    assert _take_up(database, filed.id, uphold=True) is DisputeState.UPHELD
    with database.transaction() as session:
        shown = read_dispute(session, LIZ, filed.id)
        added = session.get(SourceRecord, shown.effect["record_added"])
        status = person_status(load_status_records(session, [person_id]), AS_OF)
        together = load_decisions(session).together
    assert added is not None and added.source == "correction"
    assert added.extra["document"] == "I-551 card 0042, issued 2019-05-02"
    assert any(
        e.record_id == added.record_id and e.term is StatusTerm.PERMANENT_RESIDENT
        for e in status.stopping
    )
    assert tuple(sorted((added.record_id, record_id))) in together


def test_an_upheld_value_dispute_shows_the_corrected_value_and_keeps_the_source(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        person_id = _person_with_addresses(session)
        record_id = _any_record(session, person_id)
        before = session.get(SourceRecord, record_id)
        assert before is not None
        born = before.date_of_birth
        with pytest.raises(InputError, match="YYYY-MM-DD"):
            file_dispute(session, LEE, person_id=person_id, record_id=record_id, kind="value",
                         field="date_of_birth", value="02/03/1980", grounds=GROUNDS)  # fmt: skip
        filed = file_dispute(session, LEE, person_id=person_id, record_id=record_id,
                             kind="value", field="date_of_birth", value="1901-02-03",
                             grounds="day and month were exchanged")  # fmt: skip
    assert _take_up(database, filed.id, uphold=True) is DisputeState.UPHELD
    with database.transaction() as session:
        profile = build_profile(session, person_id, AS_OF)
        stored = session.get(SourceRecord, record_id)
        shown = read_dispute(session, LIZ, filed.id)
    corrected = next(v for v in profile.dates_of_birth if v.value == dt.date(1901, 2, 3))
    assert corrected.record_ids == (record_id,)
    assert stored is not None and stored.date_of_birth == born
    assert shown.effect == {"field": "date_of_birth", "was": str(born), "now": "1901-02-03"}


def test_open_cases_on_the_person_are_flagged_for_a_fresh_look(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    with database.transaction() as session:
        person_id = _person_with_addresses(session)
        case = open_case(
            session, actor=ANN, as_of=AS_OF, person_id=person_id, reason="tip from a profile"
        )
        before = facts_of(session, case.id, Thresholds.of(settings), AS_OF).changed_at
        filed = file_dispute(session, LEE, person_id=person_id,
                             record_id=_any_record(session, person_id),
                             kind="not_me", grounds="another man of the same name")  # fmt: skip
        after = facts_of(session, case.id, Thresholds.of(settings), AS_OF).changed_at
    assert filed.open_cases == (case.id,)
    assert after is not None and (before is None or after > before)


def test_a_lead_resting_on_a_record_under_open_dispute_waits_for_the_decision(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        lead = next(
            x
            for x in find_leads(session, AS_OF)
            if x.rule is LeadRule.REMOVAL_ORDER_NOT_DEPARTED and x.open_case is None
        )
        order = lead.records[0]
        grounds = "the order names another man of this name"
        filed = file_dispute(session, LEE, person_id=lead.person_id, record_id=order,
                             kind="not_me", grounds=grounds)  # fmt: skip
    with database.transaction() as session:
        during = {x.lead_id for x in find_leads(session, AS_OF, person_ids=[lead.person_id])}
    assert lead.lead_id not in during  # the order leaves the status evidence while open
    assert _take_up(database, filed.id, uphold=False) is DisputeState.REJECTED
    with database.transaction() as session:
        after = {x.lead_id for x in find_leads(session, AS_OF, person_ids=[lead.person_id])}
    assert lead.lead_id in after
