"""`caseline serve`: the web UI and the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from caseline.cli.app import app, console, workspace


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web UI and the API (OpenAPI document at /openapi.json)."""
    serve_quietly(host, port, announce=_announce)


def _announce(url: str) -> None:
    console.print(f"Caseline at {url}  (API: /api, spec: /openapi.json)")


def serve_quietly(host: str, port: int, announce: Callable[[str], None]) -> None:
    """Serve until stopped, after ``announce`` says where; the server itself logs only
    warnings, so what ``announce`` printed stays last on the screen."""
    import uvicorn

    from caseline.server import create_app

    with workspace() as ws:
        app_ = create_app(ws.settings, ws.database)
        announce(f"http://{host}:{port}/")
        uvicorn.run(app_, host=host, port=port, log_level="warning")
