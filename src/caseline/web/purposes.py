"""Purposes: the page a reader is shown when a profile needs a purpose bound to work, and
the supervisors' list of purposes in words waiting for their countersignature. Thin: parse,
call :mod:`caseline.cases` or :mod:`caseline.oversight`, render."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caseline.api.deps import Authorized, DatabaseDep
from caseline.cases import state_purpose, work_on_person
from caseline.db import Database
from caseline.errors import InputError, NotFoundError, StateError
from caseline.oversight import (
    PURPOSE_RULE,
    Actor,
    CountersignPending,
    Permission,
    countersign_purpose,
    decline_purpose,
    list_pending_purposes,
)
from caseline.web.templating import templates

router = APIRouter(include_in_schema=False)
Supervisor = Annotated[Actor, Authorized(Permission.COUNTERSIGN_PURPOSES)]


def purpose_page(
    request: Request,
    database: Database,
    actor: Actor,
    person_id: str,
    *,
    purpose: str,
    refusal: Exception,
    as_of: dt.date,
) -> Response:
    """Why the read waits or was refused, and the purposes the reader may state instead:
    their open cases on the person, the leads on it they may triage, or a reason in words."""
    with database.transaction() as session:
        choices = work_on_person(session, person_id, actor=actor, as_of=as_of)
    return templates.TemplateResponse(
        request,
        "purpose.html",
        {
            "actor": actor,
            "section": "search",
            "person_id": person_id,
            "purpose": purpose,
            "choices": choices,
            "message": str(refusal),
            "pending": refusal.request_id if isinstance(refusal, CountersignPending) else None,
            "rule": PURPOSE_RULE,
        },
        status_code=403,
    )


@router.post("/persons/{person_id}/purpose")
def state_reason(
    person_id: str,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_PERSON)],
    purpose: Annotated[str, Form(max_length=256)],
) -> Response:
    """File a reason in words for a supervisor's countersignature (once), then go back to
    the profile, which shows it waiting, or the profile itself once countersigned."""
    with database.transaction() as session:
        state_purpose(session, person_id, actor=actor, purpose=purpose, as_of=dt.date.today())
    return RedirectResponse(
        f"/persons/{quote(person_id)}?{urlencode({'purpose': purpose})}", status_code=303
    )


@router.get("/purposes", response_class=HTMLResponse)
def purposes_page(request: Request, database: DatabaseDep, actor: Supervisor) -> Response:
    return _render(request, database, actor, error=None, status_code=200)


@router.post("/purposes/{request_id}/countersign")
def countersign(request_id: int, database: DatabaseDep, actor: Supervisor) -> Response:
    with database.transaction() as session:
        countersign_purpose(session, request_id, actor=actor)
    return RedirectResponse("/purposes", status_code=303)


@router.post("/purposes/{request_id}/decline")
def decline(
    request: Request,
    request_id: int,
    database: DatabaseDep,
    actor: Supervisor,
    reason: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    try:
        with database.transaction() as session:
            decline_purpose(session, request_id, actor=actor, reason=reason)
    except (InputError, NotFoundError, StateError) as exc:
        return _render(request, database, actor, error=str(exc), status_code=422)
    return RedirectResponse("/purposes", status_code=303)


def _render(
    request: Request, database: Database, actor: Actor, *, error: str | None, status_code: int
) -> Response:
    with database.transaction() as session:
        pending = list_pending_purposes(session, actor=actor)
    return templates.TemplateResponse(
        request,
        "purposes.html",
        {"actor": actor, "section": "purposes", "pending": pending, "error": error},
        status_code=status_code,
    )
