"""Voluntary departures: each verified against exit records, probable, pending or overdue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from caseline.api.deps import Authorized, DatabaseDep, SettingsDep, day_query
from caseline.api.routes.cases import paging_headers
from caseline.cases import LIST_PAGE as PAGE_SIZE
from caseline.cases import MAX_LIST_PAGE as MAX_PAGE_SIZE
from caseline.cases import DepartureState, Thresholds, page_of_departures
from caseline.oversight import Actor, Permission

router = APIRouter(tags=["departures"])


class DepartureOut(BaseModel):
    person_id: str
    display_name: str
    granted_on: dt.date | None
    deadline: dt.date
    state: DepartureState
    why: str
    exit_record_id: str | None
    exit_on: dt.date | None
    case_id: int | None


@router.get("/departures", response_model=list[DepartureOut])
def departures(
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Authorized(Permission.LIST_DEPARTURES)],
    response: Response,
    as_of: Annotated[
        dt.date | None, day_query("The day deadlines and exits are judged on (today)")
    ] = None,
    state: Annotated[DepartureState | None, Query(description="Only this state")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Departures to skip")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Departures per page")
    ] = PAGE_SIZE,
) -> list[DepartureOut]:
    """A page of the voluntary departures, deadline first: verified, probable (with why),
    pending or overdue. Audited with the persons listed. ``X-Total-Count`` says how many
    there are in all, ``X-Next-Offset`` (when more follow) where the next page starts."""
    with database.transaction() as session:
        page = page_of_departures(
            session,
            actor=actor,
            as_of=as_of or dt.date.today(),
            thresholds=Thresholds.of(settings),
            state=state.value if state else None,
            offset=offset,
            limit=limit,
        )
    paging_headers(response, page)
    return [DepartureOut.model_validate(d, from_attributes=True) for d in page.items]
