"""Voluntary departures: each verified against exit records, probable, pending or overdue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from caseline.api.deps import Authorized, DatabaseDep, SettingsDep, day_query
from caseline.cases import DepartureState, Thresholds, list_departures
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
    as_of: Annotated[
        dt.date | None, day_query("The day deadlines and exits are judged on (today)")
    ] = None,
    state: Annotated[DepartureState | None, Query(description="Only this state")] = None,
) -> list[DepartureOut]:
    """Every voluntary departure, deadline first: verified, probable (with why), pending or
    overdue. Audited with the persons listed."""
    with database.transaction() as session:
        found = list_departures(
            session,
            actor=actor,
            as_of=as_of or dt.date.today(),
            thresholds=Thresholds.of(settings),
            state=state.value if state else None,
        )
    return [DepartureOut.model_validate(d, from_attributes=True) for d in found]
