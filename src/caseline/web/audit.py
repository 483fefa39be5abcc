"""The audit trail page, for auditors: the events as they are, newest first, narrowed by
actor, action, object and days, a page at a time. Thin: parse, call
:func:`caseline.oversight.read_trail`, render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from caseline.api.deps import Authorized, DatabaseDep
from caseline.oversight import Actor, Permission, TrailFilters, read_trail
from caseline.web.reports import period_from_form
from caseline.web.templating import templates

router = APIRouter(include_in_schema=False)
PAGE = 50


@router.get("/audit", response_class=HTMLResponse)
def trail_page(
    request: Request,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_AUDIT)],
    who: Annotated[str, Query(max_length=64)] = "",
    what: Annotated[str, Query(max_length=64)] = "",
    about: Annotated[str, Query(max_length=64)] = "",
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The trail's events the form keeps; reading them is itself an event."""
    period = period_from_form(start, end)
    filters = TrailFilters(period, who=who or None, what=what or None, about=about or None)
    with database.reading() as session:
        page = read_trail(session, actor=actor, filters=filters, offset=offset, limit=PAGE)
    form = {"who": who, "what": what, "about": about, "from": start, "to": end}
    return templates.TemplateResponse(
        request,
        "audit.html",
        {"actor": actor, "section": "audit", "form": form, "page": page, "size": PAGE,
         "period": period},
    )  # fmt: skip
