"""Signing in and out of the web UI, and the page every role lands on: who you are, what
your role may do and where, and the way out.

The sign-in form carries a token its own cookie repeats, so a page of another site cannot
sign a browser in as someone else; sign-out is a POST with the session's token.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caseline.api.csrf import CSRF_FIELD, check_double_submit, check_token, require_same_origin
from caseline.api.deps import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    DatabaseDep,
    SettingsDep,
    client_address,
    session_policy,
)
from caseline.config import Settings
from caseline.errors import AccessDenied
from caseline.oversight import Actor, Permission, SignInThrottled, sign_in, sign_out
from caseline.web.templating import may, templates

router = APIRouter(include_in_schema=False)

# What each permission lets a person do, and where: a page of the web UI, and a command or
# an API route.
CAPABILITIES: dict[Permission, tuple[str, str | None, str | None]] = {
    Permission.SEARCH_PERSONS: ("Search persons by name, with a purpose", "/", None),
    Permission.READ_PERSON: ("Read a person's profile, with a purpose", "/", None),
    Permission.EXPLAIN_LINKS: ("See why two records were linked", None, "GET /api/pairs/explain"),
    Permission.DECIDE_LINKS: (
        "Decide that two records are one person, or not",
        None,
        "POST /api/pairs/decisions",
    ),
    Permission.LIST_LEADS: ("List leads and open cases from them", "/leads", "caseline leads"),
    Permission.OPEN_CASES: ("Open a case on a person", "/leads", "caseline cases open"),
    Permission.READ_CASES: ("Read cases and their dossiers", "/cases", "caseline cases list"),
    Permission.TAKE_CASE_STEPS: ("Take the case steps your role may take", "/cases", None),
    Permission.LIST_DEPARTURES: ("List voluntary departures", "/departures", "caseline departures"),
    Permission.READ_REPORTS: (
        "Read the oversight reports: who looked at whom, refusals, cases, accuracy",
        "/reports",
        "caseline reports",
    ),
    Permission.COUNTERSIGN_PURPOSES: (
        "Countersign the purposes in words others state to read a person or export",
        "/purposes",
        "caseline purposes pending",
    ),
    Permission.READ_AUDIT: ("Read the audit trail", "/audit", "caseline audit events"),
    Permission.VERIFY_AUDIT: ("Verify the audit chain", None, "caseline audit verify"),
    Permission.MANAGE_USERS: (
        "Add, list, disable and reset users, and change their roles",
        "/users",
        "caseline users",
    ),
    Permission.READ_RUNS: (
        "See the ingest and resolution runs, with their counts and accuracy",
        "/data",
        "caseline runs",
    ),
    Permission.INGEST_FILES: ("Ingest source files", None, "caseline ingest"),
    Permission.READ_INGEST_PROBLEMS: (
        "Read each file's quarantined rows and values left out",
        "/data",
        "caseline problems",
    ),
    Permission.RESOLVE_PERSONS: ("Resolve records into persons", None, "caseline resolve"),
    Permission.EVALUATE_ACCURACY: ("Measure accuracy", None, "caseline evaluate"),
    Permission.EXPORT_PERSONS: ("Export persons, with a purpose", None, "caseline export"),
}


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: SettingsDep) -> Response:
    return _login_form(request, settings, error=None, status_code=200)


@router.post("/login")
def login(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=256)],
    password: Annotated[str, Form(max_length=1024)],
    login_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    require_same_origin(request, secure=settings.cookie_secure, only_if_sent=True)
    check_double_submit(login_token, request.cookies.get(LOGIN_COOKIE))
    try:
        token = sign_in(
            database,
            username,
            password,
            policy=session_policy(settings),
            client=client_address(request),
        )
    except SignInThrottled as exc:
        answer = _login_form(request, settings, error=str(exc), status_code=429)
        answer.headers["Retry-After"] = str(exc.retry_after)  # as the API says it
        return answer
    except AccessDenied as exc:
        return _login_form(request, settings, error=str(exc), status_code=401)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        with database.transaction() as session:
            sign_out(session, previous)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        max_age=settings.session_hours * 3600,
    )
    return response


@router.post("/logout")
def logout(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    """End the session server-side; only this site's own sign-out form may ask."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        require_same_origin(request, secure=settings.cookie_secure)
        check_token(csrf_token, token)
        with database.transaction() as session:
            sign_out(session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def home_page(request: Request, actor: Actor) -> Response:
    """The landing page of a role that does not search persons."""
    granted = [
        (permission, *CAPABILITIES[permission])
        for permission in CAPABILITIES
        if may(actor, permission)
    ]
    return templates.TemplateResponse(
        request, "home.html", {"actor": actor, "section": "home", "capabilities": granted}
    )


def _login_form(
    request: Request, settings: Settings, *, error: str | None, status_code: int
) -> Response:
    nonce = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"error": error, "login_token": nonce, "actor": None},
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        max_age=3600,
        path="/login",
    )
    return response
