"""A person's history: the merges and splits between resolution runs that touched it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from caseline.api.deps import Authorized, DatabaseDep
from caseline.oversight import Actor, Permission
from caseline.resolve import list_person_events

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
    purpose: Annotated[
        str, Query(min_length=5, max_length=256, description="Why you read this person")
    ],
) -> list[PersonEventOut]:
    """Merges (the person now holds the records of the related persons) and splits (the
    person's records now form the related persons), oldest first. Needs a purpose; audited."""
    with database.transaction() as session:
        found = list_person_events(session, actor, person_id, purpose)
    return [PersonEventOut.model_validate(e, from_attributes=True) for e in found]
