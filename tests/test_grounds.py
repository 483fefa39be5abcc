"""The grounds guard and possible matches' status records: what stops an action against a
namesake, on the records alone and through the server on a resolved world."""

import datetime as dt

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caseline.cases import LeadRule, Thresholds, find_leads, open_case, read_case, take_step
from caseline.cases.grounds import assess_grounds
from caseline.cases.leads import findings
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import Person, PersonRecord, SourceRecord
from caseline.errors import GuardStopped
from caseline.oversight import Actor, Role
from caseline.profiles import (
    BorderEvent,
    PersonStatus,
    StatusEvidence,
    load_status_records,
    person_addresses,
    read_profile,
    status_by_person,
)
from caseline.profiles.status_nearby import possible_status_matches
from caseline.standardise.status import StatusTerm
from tests.case_pages import AS_OF, in_doubt

THRESHOLDS = Thresholds(identity=0.95, address=0.5)
ANN = Actor("ann", Role.ANALYST)
LEE = Actor("lee", Role.LEGAL)
ORDER = StatusEvidence("court-1", "court", StatusTerm.REMOVAL_ORDER, dt.date(2024, 5, 24),
                       "hearing REMOVAL_ORDERED")  # fmt: skip
ORDERED = PersonStatus(AS_OF, [ORDER], [])


def test_an_order_giving_another_date_of_birth_than_the_persons_is_in_doubt() -> None:
    usual, swapped = dt.date(1974, 8, 9), dt.date(1974, 9, 8)
    births = {"court-1": swapped, "dmv-1": swapped, "tax-1": usual, "tax-2": usual, "tax-3": usual}
    own = frozenset(births)
    grounds = assess_grounds(ORDERED, ("court-1",), own, births)
    assert grounds.found and grounds.records == ("court-1",) and not grounds.cited_elsewhere
    doubted = [(d.record_id, d.born, d.other, d.giving_other) for d in grounds.doubted]
    assert doubted == [("court-1", swapped, usual, 3)]
    assert "3 of the person's records give 1974-08-09" in grounds.doubted[0].describe()
    # The order's date on most records, another on two: two persons in one, maybe.
    merged = {**births, "court-1": swapped, "tax-3": swapped, "tax-4": swapped}
    assert [d.other for d in assess_grounds(ORDERED, (), frozenset(merged), merged).doubted] == [
        usual
    ]
    # One record each, or another date on a single record beside the order's: no doubt.
    even = {"court-1": swapped, "tax-1": usual}
    assert assess_grounds(ORDERED, (), frozenset(even), even).doubted == ()
    typo = {"court-1": swapped, "dmv-1": swapped, "tax-1": usual}
    assert assess_grounds(ORDERED, (), frozenset(typo), typo).doubted == ()
    # A record that gives no date of birth raises none, unless the person's records keep
    # giving two dates (a father and son of one name in one profile): whose order is it?
    assert assess_grounds(ORDERED, (), own, {"tax-1": usual}).doubted == ()
    father = {"tax-1": usual, "tax-2": usual, "dmv-1": swapped, "court-0": swapped}
    silent = assess_grounds(ORDERED, (), frozenset(father), father).doubted
    assert [(d.record_id, d.born) for d in silent] == [("court-1", None)]
    assert "gives no date of birth" in silent[0].describe()


def test_a_case_cites_records_that_are_no_longer_the_persons() -> None:
    grounds = assess_grounds(ORDERED, ("court-1", "court-9"), frozenset({"court-1"}), {})
    assert grounds.cited_elsewhere == ("court-9",)
    nothing = assess_grounds(PersonStatus(AS_OF, [], []), (), frozenset(), {})
    assert nothing.found == () and nothing.records == ()


def test_an_entry_after_living_here_is_a_return_not_an_arrival() -> None:
    entry = BorderEvent("entry-1", "ENTRY", dt.date(2022, 3, 1), "JFK", "CHINA")
    status = PersonStatus(AS_OF, [], [entry])
    arrived = [rule for rule, *_ in findings(status, AS_OF)]
    assert arrived == [LeadRule.STAY_ENDED_NO_EXIT]
    # A tax return filed at an address here two years before: the entry was a return.
    assert list(findings(status, AS_OF, dt.date(2020, 4, 15))) == []
    # Records from the weeks around the entry are the arrival's own.
    assert [r for r, *_ in findings(status, AS_OF, dt.date(2022, 2, 1))] == arrived


def _step(database: Database, case_id: int, action: str, actor: Actor, **fields: str) -> None:
    with database.transaction() as session:
        version = read_case(
            session, case_id, actor=actor, thresholds=THRESHOLDS, as_of=AS_OF
        ).case.version
        take_step(
            session, case_id, action, actor=actor, expected_version=version, fields=fields,
            thresholds=THRESHOLDS, as_of=AS_OF,
        )  # fmt: skip


def _to_status_review(database: Database, case_id: int, person_id: str) -> str:
    """Begin, read the person on the case, confirm; the person's likeliest own address."""
    _step(database, case_id, "begin_review", ANN, reason="the lead is worth a review")
    with database.transaction() as session:
        read_profile(session, person_id, actor=ANN, purpose=f"case:{case_id}",
                     as_of=AS_OF, case_id=str(case_id))  # fmt: skip
    _step(database, case_id, "confirm_identity", ANN, reason="records and links checked")
    with database.transaction() as session:
        return next(a.address for a in person_addresses(session, person_id, AS_OF).addresses
                    if not a.lead)  # fmt: skip


def _clean_person(session: Session, leads: set[str], exclude: set[str]) -> str:
    """An assured person with a likely address of their own and nothing that would stop a
    case on them but what the test makes: no lead, no status stop, no possible match."""
    statuses = status_by_person(load_status_records(session), AS_OF)
    for person_id in session.scalars(
        select(Person.person_id)
        .where(Person.assurance >= THRESHOLDS.identity, Person.record_count >= 3)
        .order_by(Person.person_id)
    ):
        status = statuses.get(person_id)
        if person_id in leads | exclude or (status and (status.stopping or status.departed_on)):
            continue
        addresses = [a for a in person_addresses(session, person_id, AS_OF).addresses if not a.lead]
        likely = addresses and addresses[0].probability >= THRESHOLDS.address
        if likely and not in_doubt(session, person_id):
            return person_id
    raise AssertionError("the small world has no person without leads or stops")


def test_a_case_on_a_namesake_for_anothers_lead_is_stopped_by_its_grounds(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        leads = find_leads(session, AS_OF)
        lead = next(x for x in leads if x.rule is LeadRule.REMOVAL_ORDER_NOT_DEPARTED)
        other = _clean_person(session, {x.person_id for x in leads}, set())
        cited = open_case(session, actor=ANN, as_of=AS_OF, person_id=other,
                          lead_id=lead.lead_id, reason="the name on the lead")  # fmt: skip
    assert cited.origin["records"] == list(lead.records)
    address = _to_status_review(database, cited.id, other)
    with pytest.raises(GuardStopped, match="grounds: the records this case was opened on"):
        _step(database, cited.id, "propose_action", ANN, address=address, reason="at the address")
    with database.transaction() as session:
        detail = read_case(session, cited.id, actor=ANN, thresholds=THRESHOLDS, as_of=AS_OF)
        propose = next(s for s in detail.next_steps if s.action == "propose_action")
        grounds = next(g for g in propose.guards if g.guard == "grounds")
        assert not grounds.passed and "work the lead on the person" in grounds.clears_by
        # Without a lead, a person on whose records no rule finds grounds is stopped too.
        bare_person = _clean_person(session, {x.person_id for x in leads}, {other})
        bare = open_case(session, actor=ANN, as_of=AS_OF, person_id=bare_person,
                         reason="a tip from a profile")  # fmt: skip
    address = _to_status_review(database, bare.id, bare.person_id)
    with pytest.raises(GuardStopped, match="grounds: no lead rule finds grounds"):
        _step(database, bare.id, "propose_action", ANN, address=address, reason="at the address")


def test_a_possible_matchs_protective_record_stops_the_case_until_legal_clears_it(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        leads = find_leads(session, AS_OF, rules=[LeadRule.REMOVAL_ORDER_NOT_DEPARTED])
        lead = next(x for x in leads if not in_doubt(session, x.person_id, x.records))
        given, family, born = session.execute(
            select(
                SourceRecord.given_name, SourceRecord.family_name, SourceRecord.date_of_birth
            ).where(SourceRecord.record_id == lead.records[0])
        ).one()
        # A permanent-resident grant resolution placed on someone else: written as the lead's
        # person would be, the given name one letter off, the day and month exchanged.
        statuses = status_by_person(load_status_records(session), AS_OF)
        grant = next(
            (person_id, e.record_id) for person_id, s in sorted(statuses.items())
            if person_id != lead.person_id
            for e in s.stopping if e.term is StatusTerm.PERMANENT_RESIDENT
        )  # fmt: skip
        swapped = dt.date(born.year, born.day, born.month) if born.day <= 12 else born
        session.execute(
            update(SourceRecord)
            .where(SourceRecord.record_id == grant[1])
            .values(given_name=given[:-1] + "X", family_name=family, date_of_birth=swapped)
        )
        assert session.scalar(
            select(PersonRecord.person_id).where(PersonRecord.record_id == grant[1])
        ) == grant[0]  # fmt: skip
        nearby = possible_status_matches(session, [lead.person_id], AS_OF)[lead.person_id]
        assert [(n.person_id, n.evidence.record_id) for n in nearby] == [grant]
        case = open_case(session, actor=ANN, as_of=AS_OF, lead_id=lead.lead_id)
    address = _to_status_review(database, case.id, lead.person_id)
    with pytest.raises(GuardStopped, match=f"status_clear: .*possible match {grant[0]}"):
        _step(database, case.id, "propose_action", ANN, address=address, reason="at the address")
    _step(database, case.id, "clear_status", LEE, reason="another person's grant (file 9)")
    with database.transaction() as session:
        detail = read_case(session, case.id, actor=ANN, thresholds=THRESHOLDS, as_of=AS_OF)
    propose = next(s for s in detail.next_steps if s.action == "propose_action")
    assert next(g for g in propose.guards if g.guard == "status_clear").passed


def test_an_undated_protective_record_is_a_possible_match_unless_its_person_is_born_otherwise(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        lead = find_leads(session, AS_OF, rules=[LeadRule.REMOVAL_ORDER_NOT_DEPARTED])[0]
        given, family, born = session.execute(
            select(
                SourceRecord.given_name, SourceRecord.family_name, SourceRecord.date_of_birth
            ).where(SourceRecord.record_id == lead.records[0])
        ).one()
        statuses = status_by_person(load_status_records(session), AS_OF)
        holder, grant = next(
            (person_id, e.record_id) for person_id, s in sorted(statuses.items())
            if person_id != lead.person_id
            for e in s.stopping if e.term is StatusTerm.PERMANENT_RESIDENT
        )  # fmt: skip
        theirs = select(PersonRecord.record_id).where(PersonRecord.person_id == holder)
        # The grant names the lead's person, family name first, and gives no date of birth ...
        session.execute(
            update(SourceRecord)
            .where(SourceRecord.record_id == grant)
            .values(given_name=family, family_name=given, date_of_birth=None)
        )
        # ... on a person whose other records give another day: someone else.
        elsewhere = dt.date(born.year - 30, 1, 1)
        session.execute(
            update(SourceRecord)
            .where(SourceRecord.record_id.in_(theirs), SourceRecord.record_id != grant)
            .values(date_of_birth=elsewhere)
        )
        assert lead.person_id not in possible_status_matches(session, [lead.person_id], AS_OF)
        # On a person whose records give the lead's person's day, it may be theirs.
        session.execute(
            update(SourceRecord)
            .where(SourceRecord.record_id.in_(theirs), SourceRecord.record_id != grant)
            .values(date_of_birth=born)
        )
        nearby = possible_status_matches(session, [lead.person_id], AS_OF)[lead.person_id]
        assert [(n.person_id, n.evidence.record_id, n.date_of_birth) for n in nearby] == [
            (holder, grant, None)
        ]
        assert "no date of birth given" in nearby[0].describe()
