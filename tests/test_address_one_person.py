"""One person's addresses score exactly as the whole population's do.

A profile or a case scores one person (:func:`person_addresses`: its own records, the leads
read from the few other persons that decide them, its disputes, its departure); the
evaluation and the exports score every person at once (:func:`score_evidence` over the whole
store). Both run one definition of the evidence; these tests hold them to the same numbers
on a generated world, for persons with leads, departures and disputes of each kind.
"""

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.cases import (
    DisputeKind,
    decide_dispute,
    facts_of,
    file_dispute,
    open_case,
    start_review,
)
from caseline.cases.guards import Thresholds
from caseline.cases.reports import guard_holds
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import PersonRecord, SourceRecord
from caseline.oversight import Actor, Role
from caseline.oversight.reports import Period
from caseline.profiles import load_address_model, person_addresses
from caseline.profiles.address_confidence import (
    PersonAddresses,
    address_confidence,
    load_departures,
    score_evidence,
)
from caseline.profiles.address_records import load_address_records
from caseline.profiles.disputed import disputed_facts, scored_records
from tests.test_address_departure import _ingest_exit

AS_OF = dt.date(2026, 1, 1)
EARLIER = dt.date(2023, 6, 30)
LEE = Actor("lee", Role.LEGAL)  # files, for the person
LIZ = Actor("liz", Role.LEGAL)  # reviews
ANN = Actor("ann", Role.ANALYST)  # opens a case
AUD = Actor("aud", Role.AUDITOR)  # reads the reports
GROUNDS = "the person was never at this place"


def _as_shown(
    rows: list[dict[str, Any]], leads: tuple[str, ...], as_of: dt.date
) -> PersonAddresses:
    """A person's rows of the population's scored evidence, as :func:`person_addresses`
    shows them (most probable first; the unknown what the shown probabilities leave)."""
    if not rows:
        return PersonAddresses(as_of, [], 1.0)
    rows = sorted(rows, key=lambda r: (-r["probability"], r["address"]))
    shown = [address_confidence(row) for row in rows]
    scaled = pd.notna(rows[0]["departed_on"])
    return PersonAddresses(
        as_of,
        shown,
        max(0.0, round(1.0 - sum(a.probability for a in shown), 4)),
        leads,
        departed_on=pd.Timestamp(rows[0]["departed_on"]).date() if scaled else None,
        returned_unseen=round(float(rows[0]["returned_unseen"]), 4) if scaled else None,
    )


def _population(
    session: Session, as_of: dt.date
) -> tuple[pd.DataFrame, dict[str, list[dict[str, Any]]]]:
    """Every person scored at once, from the whole store: each person's rows less what its
    disputes take out, every departure. Returns the records scored and the evidence rows
    by person."""
    records = load_address_records(session)
    kept = [
        scored_records(own, disputed_facts(session, str(person_id)))
        for person_id, own in records.groupby("person_id", sort=True)
    ]
    scored = pd.concat(kept, ignore_index=True)
    evidence = score_evidence(scored, as_of, load_address_model(), load_departures(session, as_of))
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in evidence.to_dict("records"):
        rows.setdefault(str(row["person_id"]), []).append(row)
    return scored, rows


def _persons_with(records: pd.DataFrame, session: Session) -> dict[str, list[str]]:
    """Persons of each kind the one-person path treats apart: with leads, departed, and a
    sample of the rest."""
    leads = set(records.loc[records["lead"] == 1, "person_id"])
    departed = set(load_departures(session, AS_OF))
    housed = set(records.loc[(records["lead"] == 0) & records["street"].notna(), "person_id"])
    others = sorted(housed - leads - departed)[::25]
    # each kind's persons with an address of their own first (what a dispute is filed on)
    return {
        "leads": sorted(leads, key=lambda p: (p not in housed, p)),
        "departed": sorted(departed, key=lambda p: (p not in housed, p)),
        "others": others,
    }


def _record_of(session: Session, person_id: str) -> str:
    """The first of the person's records that gives an address."""
    query = (
        select(SourceRecord.record_id)
        .join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
        .where(PersonRecord.person_id == person_id, SourceRecord.street.is_not(None))
        .order_by(SourceRecord.record_id)
    )
    found = session.scalars(query).first()
    assert found is not None, f"no record of {person_id}"
    return found


def _dispute(database: Database, person_id: str, kind: DisputeKind, *, decide: bool | None) -> None:
    """File a dispute on one of the person's address records; take it up and decide it
    (``decide`` True: uphold; False: reject; None: leave it filed)."""
    with database.transaction() as session:
        record_id = _record_of(session, person_id)
        filed = file_dispute(
            session, LEE, person_id=person_id, record_id=record_id, kind=kind, grounds=GROUNDS
        )
    if decide is None:
        return
    with database.transaction() as session:
        start_review(session, LIZ, filed.id)
    with database.transaction() as session:
        decide_dispute(session, LIZ, filed.id, uphold=decide, reason="checked the document")


def _assert_one_person_as_population(database: Database, persons: list[str], as_of: dt.date) -> int:
    """Each person's one-person scoring equals its share of the population's; returns how
    many addresses were compared."""
    compared = 0
    with database.transaction() as session:
        scored, rows = _population(session, as_of)
        leads = {
            str(p): tuple(sorted(group["record_id"]))
            for p, group in scored[scored["lead"] == 1].groupby("person_id")
        }
        for person_id in persons:
            alone = person_addresses(session, person_id, as_of)
            expected = _as_shown(rows.get(person_id, []), leads.get(person_id, ()), as_of)
            assert alone == expected, person_id
            compared += len(alone.addresses)
    return compared


def test_one_persons_addresses_are_the_populations_for_leads_departures_and_others(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        chosen = _persons_with(load_address_records(session), session)
    assert chosen["leads"], "the small world should hold a person with a name lead"
    assert chosen["departed"], "the small world should hold a person who left"
    persons = sorted({p for found in chosen.values() for p in found})
    assert _assert_one_person_as_population(database, persons, AS_OF) > 0
    assert _assert_one_person_as_population(database, persons, EARLIER) > 0


@pytest.mark.parametrize(
    ("kind", "decide"),
    [
        (DisputeKind.NOT_ME, None),  # open: the record leaves every score
        (DisputeKind.NOT_ME, True),  # upheld: the record leaves the person
        (DisputeKind.NOT_MY_ADDRESS, True),  # upheld: the address is not scored as theirs
        (DisputeKind.NOT_MY_ADDRESS, False),  # rejected: scored as before
    ],
)
def test_one_persons_addresses_are_the_populations_under_disputes(
    mutable_resolved: tuple[Settings, Database], kind: DisputeKind, decide: bool | None
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        chosen = _persons_with(load_address_records(session), session)
        before = {
            p: person_addresses(session, p, AS_OF)
            for p in (chosen["leads"][0], chosen["departed"][0], chosen["others"][1])
        }
    for person_id in before:
        _dispute(database, person_id, kind, decide=decide)
    with database.transaction() as session:
        after = {p: person_addresses(session, p, AS_OF) for p in before}
    changed = [p for p in before if before[p] != after[p]]
    if decide is False:
        assert not changed  # a rejected dispute changes no score
    else:
        assert changed, "a dispute that takes a record or an address out changes a score"
    _assert_one_person_as_population(database, sorted(before), AS_OF)


def test_a_cases_addresses_are_kept_only_while_nothing_they_read_changes(
    mutable_resolved: tuple[Settings, Database], tmp_path: Path
) -> None:
    """The case's facts keep the scored addresses per data version: read again unchanged,
    the very same; after a dispute is filed, taken up, decided, or a record comes in, scored
    afresh, as the person's addresses are then."""
    settings, database = mutable_resolved
    thresholds = Thresholds.of(settings)
    with database.transaction() as session:
        chosen = _persons_with(load_address_records(session), session)
        person_id = chosen["others"][1]
        case = open_case(session, actor=ANN, as_of=AS_OF, person_id=person_id, reason=GROUNDS)

    def kept_and_fresh() -> tuple[PersonAddresses, PersonAddresses]:
        with database.transaction() as session:
            kept = facts_of(session, case.id, thresholds, AS_OF).addresses
            return kept, person_addresses(session, person_id, AS_OF)

    first, fresh = kept_and_fresh()
    again, _ = kept_and_fresh()
    assert first == fresh and again is first  # nothing changed: not scored again
    with database.transaction() as session:
        record_id = _record_of(session, person_id)
        filed = file_dispute(
            session, LEE, person_id=person_id, record_id=record_id,
            kind=DisputeKind.NOT_ME, grounds=GROUNDS,
        )  # fmt: skip
    during, fresh = kept_and_fresh()
    assert during == fresh and during != first  # the disputed record left the score
    with database.transaction() as session:
        start_review(session, LIZ, filed.id)
    with database.transaction() as session:
        decide_dispute(session, LIZ, filed.id, uphold=False, reason="checked the document")
    rejected, fresh = kept_and_fresh()
    assert rejected == fresh == first  # rejected: the record is scored again
    exit_record = _ingest_exit(settings, database, tmp_path / "exit.csv", dt.date(2025, 7, 1))
    with database.transaction() as session:
        session.add(PersonRecord(record_id=exit_record, person_id=person_id))
    left, fresh = kept_and_fresh()
    assert left == fresh and left.departed_on == dt.date(2025, 7, 1)


def test_the_guard_reports_judge_the_cases_again_once_one_changes(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    """The guard reports keep what the guards hold per data version, cases included: a new
    case, or a dispute on a case's person, is in the next reading."""
    settings, database = mutable_resolved
    thresholds = Thresholds.of(settings)
    period = Period.of(end=dt.date.today())
    with database.transaction() as session:
        chosen = _persons_with(load_address_records(session), session)
        first, second = chosen["others"][1], chosen["others"][2]
        open_case(session, actor=ANN, as_of=AS_OF, person_id=first, reason=GROUNDS)

    def judged() -> int:
        """How many open cases the report judged (its note says)."""
        with database.transaction() as session:
            report = guard_holds(session, actor=AUD, period=period, thresholds=thresholds)
        return int(report.note.split()[0])

    assert judged() == judged() == 1
    with database.transaction() as session:
        open_case(session, actor=ANN, as_of=AS_OF, person_id=second, reason=GROUNDS)
    assert judged() == 2  # the new case is judged
