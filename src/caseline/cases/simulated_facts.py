"""The facts the guards look at, gathered in bulk for many persons at once (the simulation's).

:func:`caseline.cases.guards.gather_facts` reads one case's person with a few queries and
one address-scoring pass each; a simulation over thousands of leads reads every person it
needs with one query per kind and scores all their addresses in one pass. What it gathers
is what ``gather_facts`` would for a case on the person (a test holds the two together); the
case's own history is the simulation's to state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.cases.grounds import dates_of_birth
from caseline.db.models import Person, PersonRecord
from caseline.profiles import (
    PersonAddresses,
    PersonStatus,
    address_confidence,
    in_country_since,
    load_address_model,
    load_status_records,
    status_by_person,
)
from caseline.profiles.address_confidence import score_evidence
from caseline.profiles.address_model import AddressModel
from caseline.profiles.address_records import load_address_records
from caseline.profiles.status_nearby import NearbyStatus, possible_status_matches

CHUNK = 5000  # ids per IN (...) list: well under SQLite's bound on parameters


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What resolution and the records say of one person on the day."""

    assurance: float | None
    status: PersonStatus
    addresses: PersonAddresses
    variants: dict[str, frozenset[str]]  # each address as shown -> every key its records carry
    records: tuple[str, ...]  # the person's records, for judging who they truly are
    births: dict[str, dt.date]  # record -> the date of birth it gives, where it gives one
    nearby: tuple[NearbyStatus, ...]  # stopping status records of possible matches
    in_country_since: dt.date | None  # the first record at an address here


def person_facts(
    session: Session,
    person_ids: Sequence[str],
    as_of: dt.date,
    model: AddressModel | None = None,
) -> dict[str, PersonFacts]:
    """The facts of each of these persons that exists (unaudited: the caller audits)."""
    wanted = sorted(set(person_ids))
    assurance: dict[str, float | None] = {}
    records: dict[str, list[str]] = {}
    status_records = []
    for chunk in _chunks(wanted):
        for person_id, value in session.execute(
            select(Person.person_id, Person.assurance).where(Person.person_id.in_(chunk))
        ):
            assurance[person_id] = value
        for record_id, person_id in session.execute(
            select(PersonRecord.record_id, PersonRecord.person_id)
            .where(PersonRecord.person_id.in_(chunk))
            .order_by(PersonRecord.record_id)
        ):
            records.setdefault(person_id, []).append(record_id)
        status_records += load_status_records(session, chunk)
    statuses = status_by_person(status_records, as_of)
    births = dates_of_birth(session, wanted)
    nearby = possible_status_matches(session, wanted, as_of)
    present = in_country_since(session, wanted)
    departures = {p: s.departed_on for p, s in statuses.items() if s.departed_on is not None}
    addresses = _addresses(
        session, set(assurance), as_of, model or load_address_model(), departures
    )
    no_status = PersonStatus(as_of, [], [])
    nowhere: tuple[PersonAddresses, dict[str, frozenset[str]]] = (
        PersonAddresses(as_of, [], 1.0),
        {},
    )
    facts = {}
    for person_id in sorted(assurance):
        scored, variants = addresses.get(person_id, nowhere)
        facts[person_id] = PersonFacts(
            assurance=assurance[person_id],
            status=statuses.get(person_id, no_status),
            addresses=scored,
            variants=variants,
            records=tuple(records.get(person_id, ())),
            births=births.get(person_id, {}),
            nearby=tuple(nearby.get(person_id, ())),
            in_country_since=present.get(person_id),
        )
    return facts


def _addresses(
    session: Session,
    person_ids: set[str],
    as_of: dt.date,
    model: AddressModel,
    departures: dict[str, dt.date],
) -> dict[str, tuple[PersonAddresses, dict[str, frozenset[str]]]]:
    """Each person's addresses as :func:`caseline.profiles.person_addresses` scores them, all
    in one pass: name leads are found among every person's records, then only these persons'
    evidence is scored (a person's evidence and probabilities depend on its own rows and its
    own recorded departure alone)."""
    records = load_address_records(session)
    own = records[records["person_id"].isin(person_ids)]
    leads = own.loc[own["lead"] == 1, ["person_id", "record_id"]].sort_values("record_id")
    lead_records = leads.groupby("person_id")["record_id"].agg(tuple).to_dict()
    evidence = score_evidence(own, as_of, model, departures)
    evidence = evidence.sort_values(
        ["person_id", "probability", "address"], ascending=[True, False, True]
    )
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in evidence.to_dict("records"):
        rows.setdefault(str(row["person_id"]), []).append(row)
    found: dict[str, tuple[PersonAddresses, dict[str, frozenset[str]]]] = {}
    for person_id, listed in rows.items():
        shown = [address_confidence(row) for row in listed]
        unknown = max(0.0, round(1.0 - sum(a.probability for a in shown), 4))
        first = listed[0]
        scaled = pd.notna(first["departed_on"])
        found[person_id] = (
            PersonAddresses(
                as_of,
                shown,
                unknown,
                lead_records.get(person_id, ()),
                departed_on=pd.Timestamp(first["departed_on"]).date() if scaled else None,
                returned_unseen=round(float(first["returned_unseen"]), 4) if scaled else None,
            ),
            {str(row["address"]): frozenset(row["variants"]) for row in listed},
        )
    return found


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]
