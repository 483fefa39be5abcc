"""Pages: search, results, profile; signing in and the case pages join from their own modules.
Thin: parse, call a package, render a template."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from caseline.api.deps import Authorized, CurrentActor, DatabaseDep, NotSignedIn, day_query
from caseline.api.refusals import record_refusal
from caseline.cases import read_person, read_person_events
from caseline.errors import AccessDenied, InputError
from caseline.oversight import Actor, Permission
from caseline.profiles import SearchFilters, person_timeline, records_details, search_persons
from caseline.web import account, cases, departures, disputes, dossiers, purposes, reports, users
from caseline.web.audit import router as audit_router
from caseline.web.data import router as data_router
from caseline.web.graph import router as graph_router
from caseline.web.policy import router as policy_router
from caseline.web.retention import router as retention_router
from caseline.web.review import router as review_router
from caseline.web.templating import may, templates

__all__ = ["templates", "web_router"]

web_router = APIRouter(include_in_schema=False)
PAGE_SIZES = (10, 20, 50)
PAGE_SIZE = 20
web_router.include_router(account.router)
web_router.include_router(cases.router)
web_router.include_router(dossiers.router)
web_router.include_router(departures.router)
web_router.include_router(disputes.router)
web_router.include_router(reports.router)
web_router.include_router(purposes.router)
web_router.include_router(retention_router)
web_router.include_router(data_router)
web_router.include_router(audit_router)
web_router.include_router(review_router)
web_router.include_router(graph_router)
web_router.include_router(users.router)
web_router.include_router(policy_router)


@web_router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    database: DatabaseDep,
    actor: CurrentActor,
    q: Annotated[str, Query(max_length=200)] = "",
    purpose: Annotated[str, Query(max_length=256)] = "",
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    born_from: Annotated[str, Query(max_length=10)] = "",
    born_to: Annotated[str, Query(max_length=10)] = "",
    source: Annotated[str, Query(max_length=64)] = "",
    place: Annotated[str, Query(max_length=128)] = "",
    per_page: Annotated[int, Query(ge=1, le=50)] = PAGE_SIZE,
) -> Response:
    """Search for a role that searches persons; for every other role, its own landing page."""
    if not may(actor, Permission.SEARCH_PERSONS):
        return account.home_page(request, actor)
    per_page = min(PAGE_SIZES, key=lambda size: abs(size - per_page))
    form = {"q": q, "purpose": purpose, "born_from": born_from, "born_to": born_to,
            "source": source, "place": place, "per_page": per_page}  # fmt: skip
    results = None
    error = None
    if q.strip():
        try:
            filters = SearchFilters(
                _day(born_from, "born from"), _day(born_to, "born to"),
                source.strip() or None, place.strip() or None,
            )  # fmt: skip
            with database.reading() as session:
                results = search_persons(
                    session, q, actor=actor, purpose=purpose, offset=offset, filters=filters,
                    limit=per_page,
                )  # fmt: skip
        except (InputError, AccessDenied) as exc:
            error = str(exc)
    return templates.TemplateResponse(
        request,
        "search.html",
        {
            "actor": actor,
            "section": "search",
            "form": form,
            "q": q,
            "purpose": purpose,
            "results": results,
            "page_size": per_page,
            "page_sizes": PAGE_SIZES,
            "default_page_size": PAGE_SIZE,
            "error": error,
        },
    )


def _day(value: str, what: str) -> dt.date | None:
    """A date typed in a form; a clear error, not a raw 422, if it is not one."""
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{value!r} is not a date (YYYY-MM-DD)", where=what) from None


@web_router.get("/persons/{person_id}", response_class=HTMLResponse)
def profile_page(
    request: Request,
    person_id: str,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_PERSON)],
    purpose: Annotated[str, Query(max_length=256)] = "",
    as_of: Annotated[dt.date | None, day_query("The day addresses are scored for")] = None,
) -> Response:
    """The profile, read for the work the purpose names; without one that allows the read,
    the purposes the reader may state instead (a reason in words is filed by a form)."""
    today = as_of or dt.date.today()
    try:
        with database.reading() as session:
            profile = read_person(session, person_id, actor=actor, purpose=purpose, as_of=as_of)
            history = read_person_events(
                session, person_id, actor=actor, purpose=purpose, as_of=today
            )
            # Each record as ingested, for its drawer: the person's own, within this read.
            details = records_details(session, person_id, [r.record_id for r in profile.records])
    except NotSignedIn:
        raise
    except AccessDenied as exc:
        record_refusal(request, 403, str(exc), actor)  # as the API's refusals are
        return purposes.purpose_page(
            request, database, actor, person_id, purpose=purpose, refusal=exc, as_of=today
        )
    return templates.TemplateResponse(
        request,
        "profile.html",
        {
            "actor": actor,
            "section": "search",
            "profile": profile,
            "purpose": purpose,
            "history": history,
            "case_id": None,
            "details": details,
            "timeline": person_timeline(profile, details),
        },
    )
