"""`caseline purposes ...`: the purposes in words that wait for a supervisor's
countersignature (reading a person, a bulk export), and the supervisor's decision."""

from __future__ import annotations

from typing import Annotated

import typer

from caseline.cli.app import app, console, workspace
from caseline.oversight import countersign_purpose, decline_purpose, list_pending_purposes

purposes_app = typer.Typer(
    help="Purposes in words waiting for a supervisor's countersignature.", no_args_is_help=True
)
app.add_typer(purposes_app, name="purposes")


@purposes_app.command("pending")
def purposes_pending() -> None:
    """The purposes waiting, oldest first (to standard output, tab-separated; supervisors)."""
    with workspace() as ws, ws.database.transaction() as session:
        found = list_pending_purposes(session, actor=ws.actor(session))
    typer.echo("id\trequested_by\trole\tscope\trequested_at\tpurpose")
    for r in found:
        typer.echo(
            f"{r.id}\t{r.requested_by}\t{r.role}\t{r.scope}\t"
            f"{r.requested_at:%Y-%m-%d %H:%M}\t{r.purpose}"
        )


@purposes_app.command("countersign")
def purposes_countersign(
    request_id: Annotated[int, typer.Argument(help="The request to countersign.")],
) -> None:
    """Countersign a purpose: its reader may then read its scope with it (never one's own)."""
    with workspace() as ws, ws.database.transaction() as session:
        done = countersign_purpose(session, request_id, actor=ws.actor(session))
    console.print(f"countersigned request {done.id}: {done.requested_by} for {done.scope}")


@purposes_app.command("decline")
def purposes_decline(
    request_id: Annotated[int, typer.Argument(help="The request to decline.")],
    reason: Annotated[str, typer.Option(help="Why the purpose does not allow it (audited).")],
) -> None:
    """Decline a purpose, saying why; the read or export stays refused."""
    with workspace() as ws, ws.database.transaction() as session:
        done = decline_purpose(session, request_id, actor=ws.actor(session), reason=reason)
    console.print(f"declined request {done.id}: {done.requested_by} for {done.scope}")
