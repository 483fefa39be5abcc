"""The ASGI application: the JSON API under /api and the web UI, sharing one access policy."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from caseline import __version__
from caseline.api import api_router
from caseline.api.deps import NotSignedIn
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
from caseline.web import web_router
from caseline.web.routes import templates

_STATUS = {
    NotSignedIn: 401,
    AccessDenied: 403,
    NotFoundError: 404,
    StateError: 409,
    InputError: 422,
}


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
    app.include_router(api_router)
    app.include_router(web_router)
    app.mount(
        "/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static"
    )
    app.add_exception_handler(CaselineError, _caseline_error)
    return app


def _status_of(exc: CaselineError) -> int:
    for kind in type(exc).__mro__:
        if kind in _STATUS:
            return _STATUS[kind]
    return 500


async def _caseline_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CaselineError)
    status = _status_of(exc)
    if request.url.path.startswith("/api"):
        body: dict[str, object] = {"detail": str(exc)}
        if isinstance(exc, InputError) and exc.where:
            body["where"] = exc.where
        if isinstance(exc, ConflictError | GuardStopped):
            body.update(exc.details)
        return JSONResponse(body, status_code=status)
    if status == 401:
        return RedirectResponse("/login", status_code=303)
    title = {403: "Not allowed", 404: "Not found", 409: "Not ready", 422: "Cannot use this input"}
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": title.get(status, "Error"), "message": str(exc), "actor": None},
        status_code=status,
    )
