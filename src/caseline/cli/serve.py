"""`caseline serve`: the web UI and the API."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Annotated

import typer

from caseline.cli.app import app, console, workspace


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            show_default="one per core",
            help="Worker processes. Reads run side by side on either database; SQLite takes "
            "one writer at a time whatever the count.",
        ),
    ] = None,
) -> None:
    """Serve the web UI and the API (OpenAPI document at /openapi.json)."""
    serve_quietly(host, port, announce=_announce, workers=workers or os.cpu_count() or 1)


def _announce(url: str) -> None:
    console.print(f"Caseline at {url}  (API: /api, spec: /openapi.json)")


def serve_quietly(host: str, port: int, announce: Callable[[str], None], workers: int = 1) -> None:
    """Serve until stopped, after ``announce`` says where; the server itself logs only
    warnings, so what ``announce`` printed stays last on the screen. Each worker builds the
    app from the environment (`app_from_environment`), which names this workspace."""
    import uvicorn

    with workspace() as ws:  # migrated, and its folder private, before any worker starts
        os.environ["CASELINE_HOME"] = str(ws.settings.home)
        if ws.settings.database_url:
            os.environ["DATABASE_URL"] = ws.settings.database_url
    announce(f"http://{host}:{port}/")
    uvicorn.run(
        "caseline.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )
