"""One record of a person as it was ingested, with the values left out of it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from caseline.api.deps import Authorized, DatabaseDep
from caseline.api.routes.persons import PURPOSE_HELP
from caseline.cases import read_person, state_purpose
from caseline.oversight import Actor, Permission
from caseline.profiles import RecordDetails, record_details

router = APIRouter(prefix="/persons", tags=["persons"])


class ValueIssueOut(BaseModel):
    field: str
    reason: str
    value: str


class RecordDetailsOut(BaseModel):
    record_id: str
    source: str
    source_key: str
    file_name: str
    line_number: int
    file_sha256: str
    ingest_run_id: int
    observed_on: dt.date | None
    valid_from: dt.date | None
    name_as_stated: str | None  # the source's name text, before standardising
    address_as_stated: str | None  # the source's address text, before standardising
    fields: dict[str, str]  # every stored value; identifiers as a fingerprint of their hash
    issues: list[ValueIssueOut]  # values left out of the record, and why

    @classmethod
    def of(cls, details: RecordDetails) -> RecordDetailsOut:
        return cls(
            record_id=details.record_id,
            source=details.source,
            source_key=details.source_key,
            file_name=details.file_name,
            line_number=details.line_number,
            file_sha256=details.file_sha256,
            ingest_run_id=details.ingest_run_id,
            observed_on=details.observed_on,
            valid_from=details.valid_from,
            name_as_stated=details.name_as_stated,
            address_as_stated=details.address_as_stated,
            fields=dict(details.fields),
            issues=[
                ValueIssueOut(field=i.field, reason=i.reason, value=i.value) for i in details.issues
            ],
        )


@router.get("/{person_id}/records/{record_id}", response_model=RecordDetailsOut)
def read_record(
    person_id: str,
    record_id: str,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_PERSON)],
    purpose: Annotated[str, Query(max_length=256, description=PURPOSE_HELP)],
) -> RecordDetailsOut:
    """One of the person's records as ingested: source, file, line, sha256, every stored
    value, the raw name and address text, and the values left out of it. Needs a purpose
    bound to the reader's work, as the profile does, and is audited as a read of the person;
    404 for a record the person does not hold."""
    today = dt.date.today()
    with database.transaction() as session:  # a reason in words stays filed if refused
        state_purpose(session, person_id, actor=actor, purpose=purpose, as_of=today)
    with database.reading() as session:
        read_person(session, person_id, actor=actor, purpose=purpose, as_of=today)
        details = record_details(session, person_id, record_id)
    return RecordDetailsOut.of(details)
