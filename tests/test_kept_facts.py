"""What is kept between requests is what would be built again: profiles per state of the
records, a case's facts brought up to date by a step rather than gathered again."""

import datetime as dt

from sqlalchemy import select

from caseline.cases import (
    LeadRule,
    Thresholds,
    file_dispute,
    find_leads,
    open_case,
    read_case,
    take_step,
)
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import PersonRecord
from caseline.oversight import Actor, Role
from caseline.profiles import build_profile, read_profile
from caseline.resolve.decisions import Decision, decide_pair

AS_OF = dt.date(2026, 1, 1)  # the small world's reference date
THRESHOLDS = Thresholds(identity=0.95, address=0.5)
ANN = Actor("ann", Role.ANALYST)
SAM = Actor("sam", Role.SUPERVISOR)
LEE = Actor("lee", Role.LEGAL)
PURPOSE = "checking the kept profile in a test"
GROUNDS = "the record is another person's, as the papers show"


def test_a_profile_read_again_is_the_one_built_until_a_dispute_changes_the_records(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        person_id, record_id = session.execute(
            select(PersonRecord.person_id, PersonRecord.record_id).order_by(
                PersonRecord.person_id, PersonRecord.record_id
            )
        ).first()  # type: ignore[misc]
        first = read_profile(session, person_id, actor=ANN, purpose=PURPOSE, as_of=AS_OF)
        again = read_profile(session, person_id, actor=ANN, purpose=PURPOSE, as_of=AS_OF)
        assert again is first  # kept: nothing it is built from changed
        assert first == build_profile(session, person_id, AS_OF)
    with database.transaction() as session:
        file_dispute(
            session, LEE, person_id=person_id, record_id=record_id, kind="not_me", grounds=GROUNDS
        )
    with database.transaction() as session:
        after = read_profile(session, person_id, actor=ANN, purpose=PURPOSE, as_of=AS_OF)
        assert [d.record_id for d in after.disputes] == [record_id]
        assert after == build_profile(session, person_id, AS_OF)


def test_the_case_a_step_answers_is_the_case_read_again(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    """The facts a step brings up to date give every next step the guards' results that
    gathering them again gives, changes since the confirmation included."""
    _, database = mutable_resolved
    with database.transaction() as session:
        lead = find_leads(session, AS_OF, rules=[LeadRule.REMOVAL_ORDER_NOT_DEPARTED])[0]
        case = open_case(session, actor=ANN, as_of=AS_OF, lead_id=lead.lead_id)
    version = case.version
    for action in ("begin_review", "read", "confirm_identity", "decide", "read", "reconfirm"):
        with database.transaction() as session:
            if action == "read":
                read_profile(
                    session, case.person_id, actor=ANN, purpose=f"case:{case.id}", as_of=AS_OF,
                    case_id=str(case.id),
                )  # fmt: skip
                continue
            if action == "decide":  # resolution's view of the person changes after confirming
                records = session.scalars(
                    select(PersonRecord.record_id)
                    .where(PersonRecord.person_id == case.person_id)
                    .order_by(PersonRecord.record_id)
                ).all()
                other = session.scalars(
                    select(PersonRecord.record_id)
                    .where(PersonRecord.person_id != case.person_id)
                    .order_by(PersonRecord.record_id)
                ).first()
                assert other is not None
                decide_pair(
                    session, SAM, records[0], other, Decision.DIFFERENT_PERSONS, "two persons"
                )
                continue
            step = "reconfirm_identity" if action == "reconfirm" else action
            stepped = take_step(
                session, case.id, step, actor=ANN, expected_version=version,
                fields={"reason": "the records checked"}, thresholds=THRESHOLDS, as_of=AS_OF,
            )  # fmt: skip
            version = stepped.case.version
        with database.transaction() as session:
            read = read_case(session, case.id, actor=ANN, thresholds=THRESHOLDS, as_of=AS_OF)
        assert stepped.next_steps == read.next_steps
        assert stepped.addresses == read.addresses
