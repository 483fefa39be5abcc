"""Persons: search by name, read one profile."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from caseline.api.deps import Authorized, DatabaseDep, day_query
from caseline.cases import read_person, state_purpose
from caseline.oversight import WORK_PURPOSE, Actor, Permission
from caseline.profiles import (
    MAX_RESULTS,
    AttributeValue,
    PersonSummary,
    Profile,
    SearchFilters,
    search_persons,
)

router = APIRouter(prefix="/persons", tags=["persons"])
PURPOSE_HELP = (
    "Why you read this person: case:ID (an open case you work on), lead:ID (a lead you "
    "triage), dispute:ID (an open dispute you filed or review), or a reason in words that a "
    "supervisor countersigns (recorded)"
)


class PersonSummaryOut(BaseModel):
    person_id: str
    display_name: str
    record_count: int
    match: float  # 1: every word as typed; less for slips, starts of words, a missing word
    match_label: str  # exact | close | loose
    dates_of_birth: list[dt.date]  # most supported first (at most three)
    places: list[str]  # "CITY, ST", most supported first (at most three)
    sources: list[str]

    @classmethod
    def of(cls, person: PersonSummary) -> PersonSummaryOut:
        return cls(
            person_id=person.person_id,
            display_name=person.display_name,
            record_count=person.record_count,
            match=person.match,
            match_label=person.match_label,
            dates_of_birth=list(person.dates_of_birth),
            places=list(person.places),
            sources=list(person.sources),
        )


class SearchOut(BaseModel):
    total: int  # persons that match, over every page
    offset: int
    results: list[PersonSummaryOut]


class AttributeOut(BaseModel):
    value: str
    supporting_records: int
    record_ids: list[str]

    @classmethod
    def each(cls, values: list[AttributeValue[Any]]) -> list[AttributeOut]:
        return [
            cls(
                value=v.value.isoformat() if isinstance(v.value, dt.date) else str(v.value),
                supporting_records=v.supporting_records,
                record_ids=list(v.record_ids),
            )
            for v in values
        ]


class AddressOut(BaseModel):
    address: str
    probability: float
    sources: list[str]
    records: int
    first_seen: dt.date
    last_seen: dt.date
    open_accounts: int
    closed_accounts: int
    newer_elsewhere_days: int
    lead: bool
    namesakes: int


class AddressesOut(BaseModel):
    as_of: dt.date
    unknown: float
    addresses: list[AddressOut]
    departed_on: dt.date | None  # a recorded exit with no entry since: addresses scaled down
    returned_unseen: float | None  # the chance the person came back unseen, which scales them


class AssuranceOut(BaseModel):
    assurance: float | None
    evidence: dict[str, Any] | None


class RecordOut(BaseModel):
    record_id: str
    source: str
    source_key: str
    observed_on: dt.date | None
    name: str
    date_of_birth: dt.date | None
    address: str | None
    file_name: str
    line_number: int
    file_sha256: str
    ingest_run_id: int


class StatusEvidenceOut(BaseModel):
    record_id: str
    source: str
    term: str
    on: dt.date | None
    stated: str
    deadline: dt.date | None
    stops: bool  # stops a case until legal review clears it


class BorderEventOut(BaseModel):
    record_id: str
    direction: str
    on: dt.date | None
    port: str | None
    nationality: str | None


class RecordDisputeOut(BaseModel):
    id: int
    record_id: str
    kind: str
    state: str
    open: bool
    field: str | None
    claimed_value: str | None
    filed_at: dt.datetime
    decided_at: dt.datetime | None


class ProfileOut(BaseModel):
    person_id: str
    best_name: str
    best_date_of_birth: dt.date | None
    names: list[AttributeOut]
    dates_of_birth: list[AttributeOut]
    sexes: list[AttributeOut]
    citizenships: list[AttributeOut]
    countries_of_birth: list[AttributeOut]
    identifiers: dict[str, list[AttributeOut]]
    conflicts: list[str]
    identity: AssuranceOut
    addresses: AddressesOut | None
    records_by_source: dict[str, list[RecordOut]]
    status: list[StatusEvidenceOut]
    border: list[BorderEventOut]
    departed_on: dt.date | None  # the last exit on record, if no entry followed it
    disputes: list[RecordDisputeOut] = []  # on the person's records, open and decided

    @classmethod
    def of(cls, profile: Profile) -> ProfileOut:
        return cls(
            person_id=profile.person_id,
            best_name=profile.best_name,
            best_date_of_birth=profile.best_date_of_birth,
            names=AttributeOut.each(profile.names),
            dates_of_birth=AttributeOut.each(profile.dates_of_birth),
            sexes=AttributeOut.each(profile.sexes),
            citizenships=AttributeOut.each(profile.citizenships),
            countries_of_birth=AttributeOut.each(profile.countries_of_birth),
            identifiers={k: AttributeOut.each(v) for k, v in profile.identifiers.items()},
            conflicts=profile.conflicts,
            identity=AssuranceOut(assurance=profile.assurance, evidence=profile.assurance_evidence),
            addresses=(
                AddressesOut.model_validate(profile.addresses, from_attributes=True)
                if profile.addresses is not None
                else None
            ),
            records_by_source={
                source: [RecordOut.model_validate(r, from_attributes=True) for r in records]
                for source, records in profile.records_by_source.items()
            },
            status=[
                StatusEvidenceOut(
                    record_id=e.record_id,
                    source=e.source,
                    term=e.term.value,
                    on=e.on,
                    stated=e.stated,
                    deadline=e.deadline,
                    stops=e.stops,
                )
                for e in (profile.status.evidence if profile.status else [])
            ],
            disputes=[
                RecordDisputeOut.model_validate(d, from_attributes=True) for d in profile.disputes
            ],
            border=[
                BorderEventOut.model_validate(b, from_attributes=True)
                for b in (profile.status.border if profile.status else [])
            ],
            departed_on=profile.status.departed_on if profile.status else None,
        )


@router.get("", response_model=SearchOut)
def search(
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.SEARCH_PERSONS)],
    name: Annotated[str, Query(min_length=1, max_length=200, description="Words of the name")],
    purpose: Annotated[
        str,
        Query(max_length=256, description="Why you search: case:ID, ... or a reason"),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS, description="Persons per page")] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000, description="Persons to skip")] = 0,
    born_from: Annotated[
        dt.date | None, Query(description="Some record's birth on or after")
    ] = None,
    born_to: Annotated[
        dt.date | None, Query(description="Some record's birth on or before")
    ] = None,
    source: Annotated[str | None, Query(max_length=64, description="Some record's source")] = None,
    place: Annotated[
        str | None, Query(max_length=128, description="Some record's city, state or ZIP")
    ] = None,
) -> SearchOut:
    """Persons whose names match the words given, forgiving typos and word order, best
    first, with the total: names, match, dates of birth, places (city and state) and sources,
    so that namesakes can be told apart; never an address or an identifier. A reason in
    words is enough to search (not to read a profile). Audited with the persons shown."""
    filters = SearchFilters(born_from, born_to, source, place)
    with database.reading() as session:
        found = search_persons(
            session, name, actor=actor, purpose=purpose, limit=limit, offset=offset,
            filters=filters,
        )  # fmt: skip
    return SearchOut(
        total=found.total,
        offset=found.offset,
        results=[PersonSummaryOut.of(p) for p in found.persons],
    )


@router.get("/{person_id}", response_model=ProfileOut)
def read(
    person_id: str,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_PERSON)],
    purpose: Annotated[str, Query(max_length=256, description=PURPOSE_HELP)],
    as_of: Annotated[
        dt.date | None, day_query("Date the address confidence is for (default today)")
    ] = None,
) -> ProfileOut:
    """One person's profile: attributes with the records behind each value (conflicts kept),
    identity assurance, addresses with the probability each is current and its evidence,
    and every record with provenance. Needs a purpose bound to the reader's work (403 until
    a reason in words is countersigned); audited."""
    if not _names_work(purpose):  # a reason in words is filed, and stays filed if refused
        with database.transaction() as session:
            state_purpose(session, person_id, actor=actor, purpose=purpose, as_of=_day(as_of))
    with database.reading() as session:  # binds the purpose to the reader's work itself
        profile = read_person(session, person_id, actor=actor, purpose=purpose, as_of=as_of)
    return ProfileOut.of(profile)


def _names_work(purpose: str) -> bool:
    """Whether the purpose names work (``case:ID``, ...): :func:`read_person` binds it, as
    stating it would, and there is nothing to file, so the read needs no transaction
    before it."""
    return WORK_PURPOSE.match(" ".join(purpose.split())) is not None


def _day(as_of: dt.date | None) -> dt.date:
    return as_of or dt.date.today()
