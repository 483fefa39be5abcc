"""The departures page: every voluntary departure on a day, verified against exit records
(verified, probable, pending or overdue), each with why. Thin: parse, call
:func:`caseline.cases.departures.page_of_departures`, render, a page at a time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from caseline.api.deps import Authorized, DatabaseDep, SettingsDep
from caseline.cases import LIST_PAGE as PAGE_SIZE
from caseline.cases import DepartureState, Thresholds, page_of_departures
from caseline.oversight import Actor, Permission
from caseline.web.templating import AsOfDep, day, templates

router = APIRouter(include_in_schema=False)


@router.get("/departures", response_class=HTMLResponse)
def departures_page(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Authorized(Permission.LIST_DEPARTURES)],
    as_of: AsOfDep,
    state: Annotated[str, Query(max_length=16)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    with database.transaction() as session:
        page = page_of_departures(
            session,
            actor=actor,
            as_of=day(as_of),
            thresholds=Thresholds.of(settings),
            state=state or None,
            offset=offset,
            limit=PAGE_SIZE,
        )
    return templates.TemplateResponse(
        request,
        "departures.html",
        {
            "actor": actor,
            "section": "departures",
            "departures": page.items,
            "page": page,
            "states": list(DepartureState),
            "state": state,
            "as_of": day(as_of),
            "as_of_given": as_of,
        },
    )
