"""The retention page: what a purge on a day would remove, per source, and who depends on
it; for admins, the button that purges it; and the flags purges left. Thin: parse, call
:mod:`caseline.cases`, render."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caseline.api.deps import Authorized, DatabaseDep, SettingsDep
from caseline.cases import apply_retention, list_retention_flags, preview_retention
from caseline.config import Settings
from caseline.db import Database
from caseline.errors import InputError, StateError
from caseline.oversight import Actor, Permission
from caseline.web.templating import AsOfDep, day, href, parse_day, templates

router = APIRouter(include_in_schema=False)
FLAGS_SHOWN = 100


@router.get("/retention", response_class=HTMLResponse)
def retention_page(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Authorized(Permission.READ_RETENTION)],
    as_of: AsOfDep,
) -> Response:
    return _render(request, database, settings, actor, as_of, error=None, status_code=200)


@router.post("/retention/apply")
def apply(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Authorized(Permission.APPLY_RETENTION)],
    as_of: Annotated[str, Form(max_length=10)] = "",
    expected_records: Annotated[int | None, Form(ge=0)] = None,
) -> Response:
    """Purge what the page showed; refused if what is past its period changed meanwhile."""
    try:
        given = parse_day(as_of)
        with database.transaction() as session:
            run = apply_retention(
                session,
                actor,
                periods=settings.retention_days,
                as_of=day(given),
                expected_records=expected_records,
            )
    except (InputError, StateError) as exc:
        return _render(request, database, settings, actor, None, error=str(exc), status_code=422)
    return RedirectResponse(href("/retention", as_of=as_of, applied=run.run_id), status_code=303)


def _render(
    request: Request,
    database: Database,
    settings: Settings,
    actor: Actor,
    as_of: dt.date | None,
    *,
    error: str | None,
    status_code: int,
) -> Response:
    with database.transaction() as session:
        preview = preview_retention(
            session, actor, periods=settings.retention_days, as_of=day(as_of)
        )
        flags = list_retention_flags(session, actor, limit=FLAGS_SHOWN)
    return templates.TemplateResponse(
        request,
        "retention.html",
        {
            "actor": actor,
            "section": "retention",
            "preview": preview,
            "flags": flags,
            "as_of_given": as_of,
            "applied": request.query_params.get("applied", ""),
            "error": error,
            "flags_shown": FLAGS_SHOWN,
        },
        status_code=status_code,
    )
