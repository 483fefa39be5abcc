"""Dependencies every route goes through: the database and the access policy.

No route reaches a person without ``Authorized(...)``: it establishes the actor from the
session token (bearer header or the web's cookie) or a script's API token (bearer header
only), refuses a cookie-carrying request that may be forged (``csrf.py``), and checks the
role on the server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from caseline.api.csrf import check_cookie_request
from caseline.config import Settings
from caseline.db import Database
from caseline.db.session import WriteInReading
from caseline.errors import AccessDenied
from caseline.oversight import (
    Actor,
    Permission,
    SessionPolicy,
    actor_for_token,
    authorize,
    is_api_token,
)
from caseline.standardise import EARLIEST_YEAR, LATEST_YEAR

SESSION_COOKIE = "caseline_session"
LOGIN_COOKIE = "caseline_login"


class NotSignedIn(AccessDenied):
    """No valid session: the client should sign in (401), not be told it lacks a role (403)."""


class ErrorDetail(BaseModel):
    """What every refusal and error of the API answers: why, in words."""

    detail: str


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy.of(settings)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def presented_token(request: Request) -> tuple[str | None, bool]:
    """The session token and whether it came in the cookie (a bearer header wins)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return cookie, cookie is not None


def session_token(request: Request) -> str | None:
    return presented_token(request)[0]


# The two ways to prove who is asking, as the OpenAPI document declares them. Both are read
# by ``presented_token``; these declare them (and let clients see which a route takes).
BEARER_SCHEME = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A session token (`POST /api/sessions`) or a script's API token "
    "(`caseline tokens create`, `clt_...`) in `Authorization: Bearer ...`.",
)
COOKIE_SCHEME = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session_cookie",
    description="The web UI's session cookie; an API call with it also sends `X-CSRF-Token`. "
    "API tokens are refused here.",
)
# The answers every route under /api may give besides its own (server.py maps the errors).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorDetail, "description": "No valid session or API token: sign in."},
    403: {
        "model": ErrorDetail,
        "description": "The role may not do this, the purpose is not allowed, or CSRF.",
    },
    404: {"model": ErrorDetail, "description": "No such person, case, token or request."},
    503: {
        "model": ErrorDetail,
        "description": "The database is busy or unreachable; nothing changed. See Retry-After.",
    },
}


def day_query(description: str, alias: str | None = None) -> Any:
    """A day in a query (``as_of``): 422 outside the years Caseline reads dates in."""
    # Pydantic bounds dates as it bounds numbers; FastAPI's signature names numbers only.
    return Query(
        alias=alias,
        description=description,
        ge=dt.date(EARLIEST_YEAR, 1, 1),  # type: ignore[arg-type]
        le=dt.date(LATEST_YEAR, 12, 31),  # type: ignore[arg-type]
    )


def current_actor(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER_SCHEME)],
    _cookie: Annotated[str | None, Depends(COOKIE_SCHEME)],
) -> Actor:
    token, from_cookie = presented_token(request)
    if not token:
        raise NotSignedIn("sign in first: no session token")
    if from_cookie and is_api_token(token):
        raise NotSignedIn("an API token is sent as a bearer header, never as a cookie")
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    try:
        actor = _actor_behind(database, token, idle)
    except AccessDenied as exc:
        raise NotSignedIn(str(exc)) from None
    request.state.actor = actor  # for the refusal's audit event and the error page's header
    if from_cookie:
        check_cookie_request(request, token, secure=settings.cookie_secure)
    return actor


def _actor_behind(database: Database, token: str, idle: dt.timedelta) -> Actor:
    """Who the token stands for, read beside other requests (``Database.reading``); read
    again under the write lock when the read must also note the token's use (a session's,
    every half minute; a script's token, every time, with its audit event)."""
    if not is_api_token(token):
        try:
            with database.reading() as session:
                return actor_for_token(session, token, idle=idle)
        except WriteInReading:
            pass
    with database.transaction() as session:
        return actor_for_token(session, token, idle=idle)


CurrentActor = Annotated[Actor, Depends(current_actor)]


def authorized(permission: Permission) -> Callable[[Actor], Actor]:
    """A dependency that admits only actors whose role grants ``permission``."""

    def check(actor: CurrentActor) -> Actor:
        authorize(actor, permission)
        return actor

    return check


def Authorized(permission: Permission) -> object:  # noqa: N802 - reads as a type in signatures
    return Depends(authorized(permission))
