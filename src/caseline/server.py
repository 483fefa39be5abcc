"""The ASGI application: the JSON API under /api and the web UI, sharing one access policy.

Every response carries the security headers; every response but the stylesheet is
``no-store``, so a page that showed a person is not kept for the back button after sign-out.
Every refused request (401, 403, 429) leaves an audit event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from caseline import __version__
from caseline.api import api_router
from caseline.api.deps import ERROR_RESPONSES, NotSignedIn
from caseline.config import Settings
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
from caseline.oversight import Actor, RequestRefused, SignInThrottled, record_unproven
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
    app.middleware("http")(_security_headers)
    return app


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
        await run_in_threadpool(_record_refusal, request, status, str(exc), actor)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, SignInThrottled) else None
    if request.url.path.startswith("/api"):
        body: dict[str, object] = {"detail": str(exc)}
        if isinstance(exc, InputError) and exc.where:
            body["where"] = exc.where
        if isinstance(exc, ConflictError | GuardStopped):
            body.update(exc.details)
        return JSONResponse(body, status_code=status, headers=headers)
    if status == 401:
        return RedirectResponse("/login", status_code=303)
    title = {
        403: "Not allowed",
        404: "Not found",
        409: "Not ready",
        422: "Cannot use this input",
        429: "Too many tries",
    }
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": title.get(status, "Error"), "message": str(exc), "actor": actor},
        status_code=status,
        headers=headers,
    )


def _record_refusal(request: Request, status: int, reason: str, actor: Actor | None) -> None:
    database: Database = request.app.state.database
    event = RequestRefused(
        path=request.url.path[:64],
        method=request.method,
        status=status,
        reason=reason[:200],
    )
    with database.transaction() as session:
        record_unproven(session, event, actor=actor)
