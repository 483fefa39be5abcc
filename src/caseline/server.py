"""The ASGI application: the JSON API under /api and the web UI, sharing one access policy.

Every response carries the security headers; every response but the stylesheet is
``no-store``, so a page that showed a person is not kept for the back button after sign-out.
Every refused request (401, 403, 429) leaves an audit event. An error under /api answers
JSON; anywhere else it is a page in the site's frame (the header, with the navigation and
sign-out of whoever is signed in) saying what went wrong and what to do next. Every response
says how long the app took to answer it (``Server-Timing: app;dur=<ms>``), which
benchmarks/page_speed.py reads.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from caseline import __version__
from caseline.api import api_router
from caseline.api.deps import ERROR_RESPONSES, SESSION_COOKIE, NotSignedIn
from caseline.api.refusals import record_refusal
from caseline.config import Settings, load_settings
from caseline.db import Database
from caseline.errors import (
    AccessDenied,
    CaselineError,
    ConflictError,
    GuardStopped,
    InputError,
    NotFoundError,
    StateError,
)
from caseline.oversight import (
    Actor,
    SignInThrottled,
    actor_for_token,
    is_api_token,
)
from caseline.profiles import prepare_search
from caseline.web import web_router
from caseline.web.routes import templates

_STATUS = {
    NotSignedIn: 401,
    SignInThrottled: 429,
    AccessDenied: 403,
    NotFoundError: 404,
    StateError: 409,
    InputError: 422,
}
# No inline scripts, no other origins, no framing; inline styles draw the confidence bars.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # A page's address (with the purpose it was read for) never leaves the site; a form
    # posted to the site still names its Origin.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Sign-in refusals are audited as failed sign-ins, with the name tried and the client (the
# sign-in page answers its own; only a forged sign-in form reaches the handler from there).
_AUDITED_BY_SIGN_IN = {("POST", "/api/sessions")}

logger = logging.getLogger(__name__)


def create_app(settings: Settings, database: Database | None = None) -> FastAPI:
    """The app over an already-migrated database (the CLI migrates before serving)."""
    app = FastAPI(
        title="Caseline",
        version=__version__,
        description="Resolved person profiles with provenance; every read is audited.",
        # The interactive docs load scripts from the internet; /openapi.json serves the spec.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database or Database(settings.resolved_database_url)
    app.include_router(api_router, responses=ERROR_RESPONSES)
    app.include_router(web_router)
    app.mount(
        "/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static"
    )
    app.add_exception_handler(CaselineError, _caseline_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(DataError, _unstorable_value)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(PoolTimeout, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)
    app.middleware("http")(_security_headers)
    app.middleware("http")(_server_timing)  # added last: outermost, so it times the rest
    return app


def app_from_environment() -> FastAPI:
    """The app as a worker process builds it (`caseline serve --workers N`): settings from
    the environment the command set, statements bounded by the service's timeout."""
    settings = load_settings()
    database = Database(
        settings.resolved_database_url,
        statement_timeout_seconds=settings.statement_timeout_seconds,
    )
    app = create_app(settings, database)
    try:
        with database.reading() as session:
            prepare_search(session)
    except (CaselineError, SQLAlchemyError) as error:  # the first search reads it instead
        logger.warning("search index not read at start: %s", error)
    # What is loaded by now (the libraries, the app) lives as long as the process: kept out of
    # the collector's full passes, which otherwise walk it all and pause a request for 0.2 s.
    gc.freeze()
    return app


async def _server_timing(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """The milliseconds from the request reaching the app to its response being ready."""
    started = time.perf_counter()
    response = await call_next(request)
    elapsed = (time.perf_counter() - started) * 1000
    response.headers["Server-Timing"] = f"app;dur={elapsed:.1f}"
    return response


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.app.state.settings.cookie_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if not request.url.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


def _status_of(exc: CaselineError) -> int:
    for kind in type(exc).__mro__:
        if kind in _STATUS:
            return _STATUS[kind]
    return 500


async def _caseline_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CaselineError)
    status = _status_of(exc)
    actor: Actor | None = getattr(request.state, "actor", None)
    if status in (401, 403, 429) and (request.method, request.url.path) not in (
        _AUDITED_BY_SIGN_IN
    ):
        await run_in_threadpool(record_refusal, request, status, str(exc), actor)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, SignInThrottled) else None
    if _is_api(request):
        body: dict[str, object] = {"detail": str(exc)}
        if isinstance(exc, InputError) and exc.where:
            body["where"] = exc.where
        if isinstance(exc, ConflictError | GuardStopped):
            body.update(exc.details)
        return JSONResponse(body, status_code=status, headers=headers)
    if status == 401:
        return RedirectResponse("/login", status_code=303)
    return _error_page(request, status, str(exc), actor, headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    """An unknown address (404) or a method the address does not take (405); a body that
    cannot be read as text at all is refused as any body that is not JSON is (422)."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:
        unreadable = {"type": "json_invalid", "loc": ("body",), "input": None,
                      "msg": "the body is not JSON text in UTF-8"}  # fmt: skip
        return await _invalid_request(request, RequestValidationError([unreadable]))
    if _is_api(request):
        return await http_exception_handler(request, exc)
    actor = await run_in_threadpool(_signed_in_actor, request)
    message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    return _error_page(request, exc.status_code, message, actor, exc.headers)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """A parameter the route's declaration refuses (too long, not a date, missing): 422."""
    assert isinstance(exc, RequestValidationError)
    if _is_api(request):
        return await request_validation_exception_handler(request, exc)
    actor = await run_in_threadpool(_signed_in_actor, request)
    return _error_page(request, 422, invalid_input_message(exc.errors()), actor)


async def _unstorable_value(request: Request, exc: Exception) -> Response:
    """A value the database cannot hold or compare (a NUL character, a string beyond its
    column): the request's fault, a 422 like any input refused, never a 500."""
    assert isinstance(exc, DataError)
    kind = "a NUL character" if "\\x00" in str(exc) or "NUL" in str(exc) else "a value too long"
    refused = InputError(f"the request holds {kind}, which no field takes")
    return await _caseline_error(request, refused)


# Seconds a client is told to wait when the database is busy or unreachable.
RETRY_AFTER_UNAVAILABLE = 5


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    """The database locked past its wait, unreachable or restarting: 503 with Retry-After,
    the request's work undone (its transaction rolled back), never a 500. The pool checks a
    connection before lending it, so the service recovers by itself once the database is back."""
    headers = {"Retry-After": str(RETRY_AFTER_UNAVAILABLE)}
    message = "The database is busy or unreachable; nothing was changed. Try again shortly."
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=503, headers=headers)
    return _error_page(request, 503, message, None, headers)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    """A fault of the site's own (500): no traceback leaves the server (Starlette raises the
    error on to the server's log). It answers outside the middleware, so the security headers
    are set here."""
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-store"}
    if _is_api(request):
        detail = "internal error: the site failed to answer; it is logged"
        return JSONResponse({"detail": detail}, status_code=500, headers=headers)
    try:
        actor = await run_in_threadpool(_signed_in_actor, request)
    except Exception:  # noqa: BLE001 - the database may be what failed: no header then
        actor = None
    message = "The site failed to answer this request: the fault is ours, not in what you did."
    return _error_page(request, 500, message, actor, headers)


_TITLES = {
    403: "Not allowed",
    404: "Not found",
    405: "Not a page to open this way",
    409: "Not ready",
    422: "Cannot use this input",
    429: "Too many tries",
    500: "Something went wrong",
    503: "Busy for a moment",
}
_HTTP_MESSAGES = {
    404: "There is no page at this address.",
    405: "This address does not take this kind of request: it answers a form, "
    "not a link, or the other way round.",
}
# What a parameter is called on the pages, for the ones a person types or picks.
_PARAMETER_NAMES = {
    "q": "the name searched for",
    "purpose": "the purpose",
    "as_of": "the day",
    "born_from": "born from",
    "born_to": "born to",
    "from": "the first day",
    "to": "the last day",
    "offset": "the page of results",
}


def invalid_input_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """Each refused parameter in words: which one, and why."""
    said = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        name = ".".join(location[1:]) or ".".join(location) or "the request"
        context = error.get("ctx") or {}
        reasons = {
            "string_too_long": f"is longer than {context.get('max_length')} characters",
            "missing": "is missing",
            "int_parsing": "is not a whole number",
            "date_from_datetime_parsing": "is not a date (YYYY-MM-DD)",
            "date_parsing": "is not a date (YYYY-MM-DD)",
        }
        reason = reasons.get(str(error.get("type")), str(error.get("msg", "is not valid")))
        said.append(f"{_PARAMETER_NAMES.get(name, name)} ({name}) {reason}")
    return "; ".join(said) + "." if said else "The request was not valid."


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path == "/api" or path.startswith("/api/")


def _signed_in_actor(request: Request) -> Actor | None:
    """Who is signed in, for the header of an error page reached before any route knew."""
    actor: Actor | None = getattr(request.state, "actor", None)
    token = request.cookies.get(SESSION_COOKIE)
    if actor is not None or not token or is_api_token(token):
        return actor
    settings: Settings = request.app.state.settings
    database: Database = request.app.state.database
    with database.transaction() as session:
        try:
            idle = dt.timedelta(minutes=settings.session_idle_minutes)
            return actor_for_token(session, token, idle=idle)
        except AccessDenied:
            return None


def _error_page(
    request: Request,
    status: int,
    message: str,
    actor: Actor | None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "title": _TITLES.get(status, "Error"),
            "status": status,
            "message": message,
            "actor": actor,
            "came_from": _same_site_referrer(request),
        },
        status_code=status,
        headers=dict(headers) if headers else None,
    )


def _same_site_referrer(request: Request) -> str | None:
    """The page of this site that linked here (for a way back), or None."""
    referrer = urlsplit(request.headers.get("referer", ""))
    path = referrer.path
    if referrer.netloc != request.url.netloc or not path.startswith("/") or path.startswith("//"):
        return None
    if path == request.url.path:
        return None
    return path + (f"?{referrer.query}" if referrer.query else "")
