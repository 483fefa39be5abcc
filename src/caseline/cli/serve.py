"""`caseline serve`: the web UI and the API."""

from __future__ import annotations

from typing import Annotated

import typer

from caseline.cli.app import app, console, workspace


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web UI and the API (OpenAPI document at /openapi.json)."""
    import uvicorn

    from caseline.server import create_app

    with workspace() as ws:
        console.print(f"Caseline at http://{host}:{port}/  (API: /api, spec: /openapi.json)")
        uvicorn.run(create_app(ws.settings, ws.database), host=host, port=port, log_level="warning")
