"""A person's history: the merges and splits between resolution runs that touched it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from caseline.api.deps import Authorized, DatabaseDep
from caseline.api.routes.persons import PURPOSE_HELP
from caseline.cases import read_person_events, state_purpose
from caseline.oversight import Actor, Permission

router = APIRouter(prefix="/persons", tags=["persons"])


class PersonEventOut(BaseModel):
    id: int
    resolution_run_id: int
    kind: str
    person_id: str
    related_person_ids: list[str]
    record_count: int
    occurred_at: dt.datetime


@router.get("/{person_id}/events", response_model=list[PersonEventOut])
def events(
    person_id: str,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_PERSON)],
    purpose: Annotated[str, Query(max_length=256, description=PURPOSE_HELP)],
) -> list[PersonEventOut]:
    """Merges (the person now holds the records of the related persons) and splits (the
    person's records now form the related persons), oldest first. Needs a purpose bound to
    the reader's work, as a profile does; audited."""
    today = dt.date.today()
    with database.transaction() as session:  # a reason in words stays filed if refused
        state_purpose(session, person_id, actor=actor, purpose=purpose, as_of=today)
    with database.reading() as session:
        found = read_person_events(session, person_id, actor=actor, purpose=purpose, as_of=today)
    return [PersonEventOut.model_validate(e, from_attributes=True) for e in found]
