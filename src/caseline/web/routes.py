"""Pages: sign in, search, results, profile; the case pages join from their own modules.
Thin: parse, call a package, render a template."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caseline.api.deps import SESSION_COOKIE, Authorized, DatabaseDep, SettingsDep, session_token
from caseline.errors import AccessDenied, InputError
from caseline.oversight import Actor, Permission, sign_in, sign_out
from caseline.profiles import read_profile, search_persons
from caseline.resolve import list_person_events
from caseline.web import cases, departures, dossiers
from caseline.web.templating import templates

__all__ = ["templates", "web_router"]

web_router = APIRouter(include_in_schema=False)
web_router.include_router(cases.router)
web_router.include_router(dossiers.router)
web_router.include_router(departures.router)


@web_router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return templates.TemplateResponse(request, "login.html", {"error": None})


@web_router.post("/login")
def login(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    try:
        with database.transaction() as session:
            token = sign_in(session, username, password, hours=settings.session_hours)
    except AccessDenied as exc:
        return templates.TemplateResponse(
            request, "login.html", {"error": str(exc)}, status_code=401
        )
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        max_age=settings.session_hours * 3600,
    )
    return response


@web_router.post("/logout")
def logout(request: Request, database: DatabaseDep) -> Response:
    token = session_token(request)
    if token:
        with database.transaction() as session:
            sign_out(session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@web_router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.SEARCH_PERSONS)],
    q: Annotated[str, Query(max_length=200)] = "",
    purpose: Annotated[str, Query(max_length=256)] = "",
) -> Response:
    results = None
    error = None
    if q.strip():
        try:
            with database.transaction() as session:
                results = search_persons(session, q, actor=actor, purpose=purpose)
        except (InputError, AccessDenied) as exc:
            error = str(exc)
    return templates.TemplateResponse(
        request,
        "search.html",
        {
            "actor": actor,
            "section": "search",
            "q": q,
            "purpose": purpose,
            "results": results,
            "error": error,
        },
    )


@web_router.get("/persons/{person_id}", response_class=HTMLResponse)
def profile_page(
    request: Request,
    person_id: str,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_PERSON)],
    purpose: Annotated[str, Query(max_length=256)] = "",
    as_of: Annotated[dt.date | None, Query()] = None,
) -> Response:
    with database.transaction() as session:
        profile = read_profile(session, person_id, actor=actor, purpose=purpose, as_of=as_of)
        history = list_person_events(session, actor, person_id, purpose)
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
        },
    )
