"""Disputes pages: the list with the form that files one, and a dispute with its review and
decision forms. Thin: parse, call :mod:`caseline.cases`, render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caseline.api.deps import Authorized, DatabaseDep
from caseline.cases import (
    DisputeKind,
    DisputeState,
    decide_dispute,
    file_dispute,
    list_disputes,
    read_dispute,
    start_review,
)
from caseline.db import Database
from caseline.errors import AccessDenied, InputError, NotFoundError, StateError
from caseline.oversight import Actor, Permission
from caseline.web.templating import templates

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Authorized(Permission.READ_DISPUTES)]
Filer = Annotated[Actor, Authorized(Permission.FILE_DISPUTES)]
Reviewer = Annotated[Actor, Authorized(Permission.REVIEW_DISPUTES)]
Text = Annotated[str, Form(max_length=2000)]
Short = Annotated[str, Form(max_length=256)]
REFUSED = (InputError, NotFoundError, StateError, AccessDenied)


@router.get("/disputes", response_class=HTMLResponse)
def disputes_page(
    request: Request,
    database: DatabaseDep,
    actor: Reader,
    state: Annotated[str, Query(max_length=16)] = "",
    person_id: Annotated[str, Query(max_length=16)] = "",
    record_id: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """Disputes, newest first; the form to file one (prefilled from a profile's record)."""
    form = {"person_id": person_id, "record_id": record_id}
    return _list(request, database, actor, state=state, form=form, error=None, status_code=200)


@router.post("/disputes")
def file_one(
    request: Request,
    database: DatabaseDep,
    actor: Filer,
    person_id: Annotated[str, Form(max_length=16)],
    record_id: Annotated[str, Form(max_length=32)],
    kind: Annotated[str, Form(max_length=32)],
    grounds: Text,
    document: Short = "",
    field: Annotated[str, Form(max_length=64)] = "",
    value: Short = "",
) -> Response:
    form = {"person_id": person_id, "record_id": record_id, "kind": kind, "grounds": grounds,
            "document": document, "field": field, "value": value}  # fmt: skip
    try:
        with database.transaction() as session:
            filed = file_dispute(
                session, actor, person_id=person_id.strip(), record_id=record_id.strip(),
                kind=kind, grounds=grounds, document=document, field=field or None, value=value,
            )  # fmt: skip
    except REFUSED as exc:
        return _list(request, database, actor, state="", form=form, error=str(exc),
                     status_code=422)  # fmt: skip
    return RedirectResponse(f"/disputes/{filed.id}", status_code=303)


@router.get("/disputes/{dispute_id}", response_class=HTMLResponse)
def dispute_page(
    request: Request, dispute_id: int, database: DatabaseDep, actor: Reader
) -> Response:
    return _detail(request, database, actor, dispute_id, error=None, status_code=200)


@router.post("/disputes/{dispute_id}/review")
def review(request: Request, dispute_id: int, database: DatabaseDep, actor: Reviewer) -> Response:
    try:
        with database.transaction() as session:
            start_review(session, actor, dispute_id)
    except REFUSED as exc:
        return _detail(request, database, actor, dispute_id, error=str(exc), status_code=409)
    return RedirectResponse(f"/disputes/{dispute_id}", status_code=303)


@router.post("/disputes/{dispute_id}/decision")
def decide(
    request: Request,
    dispute_id: int,
    database: DatabaseDep,
    actor: Reviewer,
    decision: Annotated[str, Form(max_length=16)],
    reason: Text,
) -> Response:
    try:
        with database.transaction() as session:
            decide_dispute(session, actor, dispute_id, uphold=decision == "uphold", reason=reason)
    except REFUSED as exc:
        return _detail(request, database, actor, dispute_id, error=str(exc), status_code=409)
    return RedirectResponse(f"/disputes/{dispute_id}", status_code=303)


def _list(
    request: Request,
    database: Database,
    actor: Actor,
    *,
    state: str,
    form: dict[str, str],
    error: str | None,
    status_code: int,
) -> Response:
    wanted = state if state in {s.value for s in DisputeState} else None
    with database.transaction() as session:
        found = list_disputes(session, actor, state=wanted)
    return templates.TemplateResponse(
        request,
        "disputes.html",
        {
            "actor": actor,
            "section": "disputes",
            "disputes": found,
            "state": wanted or "",
            "states": [s.value for s in DisputeState],
            "kinds": [k.value for k in DisputeKind],
            "form": form,
            "error": error,
        },
        status_code=status_code,
    )


def _detail(
    request: Request,
    database: Database,
    actor: Actor,
    dispute_id: int,
    *,
    error: str | None,
    status_code: int,
) -> Response:
    with database.transaction() as session:
        dispute = read_dispute(session, actor, dispute_id)
    return templates.TemplateResponse(
        request,
        "dispute.html",
        {"actor": actor, "section": "disputes", "d": dispute, "error": error},
        status_code=status_code,
    )
