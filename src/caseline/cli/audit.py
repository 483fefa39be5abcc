"""`caseline audit verify`: is the audit trail as it was written?"""

from __future__ import annotations

import typer

from caseline.cli.app import app, console, workspace
from caseline.oversight import verify_audit_trail

audit_app = typer.Typer(help="Inspect the audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit hash chain; exit 1 and name the first broken event if tampered."""
    with workspace() as ws, ws.database.transaction() as session:
        report = verify_audit_trail(session, actor=ws.actor(session))
    if report.intact:
        console.print(f"audit chain intact: {report.events_checked:,} events")
        return
    console.print(
        f"[red]audit chain broken[/red] at event {report.first_broken_seq}: {report.reason}"
    )
    raise typer.Exit(1)
