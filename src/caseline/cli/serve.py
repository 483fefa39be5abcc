"""`caseline serve` and `caseline demo`: the web UI and API, and a whole small world behind them."""

from __future__ import annotations

from typing import Annotated

import typer

from caseline.cli.app import Workspace, acting_as, app, console, workspace
from caseline.cli.evaluate import evaluate_addresses_command, evaluate_persons
from caseline.cli.ingest import ingest
from caseline.cli.resolve import resolve
from caseline.cli.world import generate
from caseline.config import load_settings
from caseline.oversight import Role, actor_named, add_first_admin, create_user, user_exists
from caseline.synth import DEFAULT_REFERENCE_DATE

DEMO_PASSWORD = "caseline-demo"  # noqa: S105 - printed to the person running the local demo
DEMO_ADMIN = "admin"
# One user per role, each named after it; the demo loads and resolves as its engineer.
DEMO_USERS = {
    "analyst": Role.ANALYST,
    "supervisor": Role.SUPERVISOR,
    "legal": Role.LEGAL,
    "auditor": Role.AUDITOR,
    "engineer": Role.DATA_ENGINEER,
}
DEMO_ENGINEER = "engineer"


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


@app.command()
def demo(
    persons: Annotated[int, typer.Option(min=10, help="How many persons to draw.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
) -> None:
    """Generate, ingest, resolve and evaluate a small world, then serve it on 127.0.0.1.

    Adds one user per role (password caseline-demo) and acts as its data engineer.
    """
    world = load_settings().home / "world"
    generate(persons=persons, seed=seed, out=world)
    with workspace() as ws:
        _add_demo_users(ws)
    with acting_as(DEMO_ENGINEER):
        try:
            ingest([world], source=None)
        except typer.Exit as exit_:
            if exit_.exit_code == 2:
                raise
        resolve(engine="duckdb", model=None)
        evaluate_persons(world / "truth.csv")
        evaluate_addresses_command(
            truth=world / "truth.csv",
            current=world / "persons.csv",
            as_of=DEFAULT_REFERENCE_DATE,
            plot=None,
        )
    names = ", ".join(f"[bold]{name}[/bold]" for name in [*DEMO_USERS, DEMO_ADMIN])
    console.print(f"Sign in as {names} with password [bold]{DEMO_PASSWORD}[/bold]")
    serve(host="127.0.0.1", port=port)


def _add_demo_users(ws: Workspace) -> None:
    """The demo's users, added once: an admin first, who then adds one user per role."""
    with ws.database.transaction() as session:
        if not user_exists(session, DEMO_ADMIN):
            add_first_admin(session, DEMO_ADMIN, DEMO_PASSWORD)
        admin = actor_named(session, DEMO_ADMIN)
        for name, role in DEMO_USERS.items():
            if not user_exists(session, name):
                create_user(session, name, role, DEMO_PASSWORD, actor=admin)
