"""Persons: search by name, read one profile."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from caseline.api.deps import Authorized, DatabaseDep
from caseline.oversight import Actor, Permission
from caseline.profiles import Profile, read_profile, search_persons

router = APIRouter(prefix="/persons", tags=["persons"])


class PersonSummaryOut(BaseModel):
    person_id: str
    display_name: str
    record_count: int


class AttributeOut(BaseModel):
    value: str
    supporting_records: int


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


class ProfileOut(BaseModel):
    person_id: str
    best_name: str
    best_date_of_birth: dt.date | None
    names: list[AttributeOut]
    dates_of_birth: list[AttributeOut]
    records_by_source: dict[str, list[RecordOut]]

    @classmethod
    def of(cls, profile: Profile) -> ProfileOut:
        return cls(
            person_id=profile.person_id,
            best_name=profile.best_name,
            best_date_of_birth=profile.best_date_of_birth,
            names=[
                AttributeOut(value=a.value, supporting_records=a.supporting_records)
                for a in profile.names
            ],
            dates_of_birth=[
                AttributeOut(value=a.value.isoformat(), supporting_records=a.supporting_records)
                for a in profile.dates_of_birth
            ],
            records_by_source={
                source: [RecordOut.model_validate(r, from_attributes=True) for r in records]
                for source, records in profile.records_by_source.items()
            },
        )


@router.get("", response_model=list[PersonSummaryOut])
def search(
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.SEARCH_PERSONS)],
    name: Annotated[str, Query(min_length=1, max_length=200, description="Words of the name")],
    purpose: Annotated[
        str, Query(min_length=5, max_length=256, description="Why you search (recorded)")
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> list[PersonSummaryOut]:
    """Persons whose best-known name has every word given (whole words). Audited."""
    with database.transaction() as session:
        found = search_persons(session, name, actor=actor, purpose=purpose, limit=limit)
    return [PersonSummaryOut.model_validate(p, from_attributes=True) for p in found]


@router.get("/{person_id}", response_model=ProfileOut)
def read(
    person_id: str,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_PERSON)],
    purpose: Annotated[
        str, Query(min_length=5, max_length=256, description="Why you read this person")
    ],
) -> ProfileOut:
    """One person's profile with the records behind it. Needs a purpose; audited."""
    with database.transaction() as session:
        profile = read_profile(session, person_id, actor=actor, purpose=purpose)
    return ProfileOut.of(profile)
