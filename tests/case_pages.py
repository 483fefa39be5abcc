"""Cases the page tests start from, set up through the cases package on a resolved world."""

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.cases import (
    LeadRule,
    Thresholds,
    find_leads,
    open_case,
    read_person_on_case,
    take_step,
)
from caseline.cases.grounds import assess_grounds, dates_of_birth
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import Person, PersonRecord
from caseline.oversight import Actor, Role
from caseline.profiles import (
    in_country_since,
    load_status_records,
    person_addresses,
    person_status,
    status_by_person,
)
from caseline.profiles.status_nearby import possible_status_matches
from caseline.standardise import StatusTerm

AS_OF = dt.date(2026, 1, 1)  # the small world's reference date
ANN = Actor("ann", Role.ANALYST)


def walkable_lead(settings: Settings, database: Database) -> tuple[str, str]:
    """A removal-order lead on a person no guard should stop, and the person's likeliest
    address of their own."""
    with database.transaction() as session:
        for lead in find_leads(session, AS_OF, rules=[LeadRule.REMOVAL_ORDER_NOT_DEPARTED]):
            person = session.get(Person, lead.person_id)
            status = status_by_person(load_status_records(session, [lead.person_id]), AS_OF)
            addresses = [
                a for a in person_addresses(session, lead.person_id, AS_OF).addresses if not a.lead
            ]
            stops = any(s.stopping or s.departed_on for s in status.values())
            stops = stops or in_doubt(session, lead.person_id, lead.records)
            if (
                person is not None
                and (person.assurance or 0) >= settings.identity_threshold
                and not stops
                and addresses
                and addresses[0].probability >= settings.address_threshold
            ):
                return lead.lead_id, addresses[0].address
    raise AssertionError("the small world has no walkable removal-order lead")


def in_doubt(session: Session, person_id: str, cited: tuple[str, ...] = ()) -> bool:
    """Whether a possible match's status record or grounds in doubt would stop a case."""
    status = person_status(load_status_records(session, [person_id]), AS_OF)
    own = frozenset(
        session.scalars(select(PersonRecord.record_id).where(PersonRecord.person_id == person_id))
    )
    births = dates_of_birth(session, [person_id]).get(person_id, {})
    present = in_country_since(session, [person_id]).get(person_id)
    grounds = assess_grounds(status, cited, own, births, present)
    nearby = possible_status_matches(session, [person_id], AS_OF)
    return bool(grounds.doubted or grounds.cited_elsewhere or nearby)


def status_stopped_case(settings: Settings, database: Database) -> int:
    """A case in status review, its identity confirmed, on a person whose records show
    permanent residence and who has an address the address guard would pass."""
    thresholds = Thresholds.of(settings)
    with database.transaction() as session:
        statuses = status_by_person(load_status_records(session), AS_OF)
        assured = set(
            session.scalars(
                select(Person.person_id).where(Person.assurance >= settings.identity_threshold)
            )
        )
        person_id = next(
            pid
            for pid, status in sorted(statuses.items())
            if pid in assured
            and status.departed_on is None
            and any(e.term is StatusTerm.PERMANENT_RESIDENT for e in status.stopping)
            and any(
                not a.lead and a.probability >= settings.address_threshold
                for a in person_addresses(session, pid, AS_OF).addresses
            )
        )
        case = open_case(
            session, actor=ANN, as_of=AS_OF, person_id=person_id, reason="a tip from a profile"
        )
        detail = take_step(
            session, case.id, "begin_review", actor=ANN, expected_version=case.version,
            fields={"reason": "a tip worth a review"}, thresholds=thresholds, as_of=AS_OF,
        )  # fmt: skip
    with database.transaction() as session:
        read_person_on_case(session, case.id, actor=ANN, as_of=AS_OF)
    with database.transaction() as session:
        take_step(
            session, case.id, "confirm_identity", actor=ANN,
            expected_version=detail.case.version, fields={"reason": "records checked"},
            thresholds=thresholds, as_of=AS_OF,
        )  # fmt: skip
    return case.id


def lead_case(database: Database, rule: LeadRule = LeadRule.STAY_ENDED_NO_EXIT) -> int:
    """A case just opened from the first lead of ``rule``."""
    with database.transaction() as session:
        lead = find_leads(session, AS_OF, rules=[rule])[0]
        return open_case(session, actor=ANN, as_of=AS_OF, lead_id=lead.lead_id).id
