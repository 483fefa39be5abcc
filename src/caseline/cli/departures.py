"""`caseline departures`: voluntary departures, each verified against exit records."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from caseline.cases import DepartureState, Thresholds, list_departures
from caseline.cli.app import app, console, date_option, workspace


@app.command()
def departures(
    as_of: Annotated[
        dt.date | None, date_option("The day deadlines and exits are judged on (today).")
    ] = None,
    state: Annotated[DepartureState | None, typer.Option(help="Only this state.")] = None,
) -> None:
    """Voluntary departures, deadline first: verified by an exit record, probable (a
    namesake's exit or a weak link, with why), pending, or overdue (audited)."""
    with workspace() as ws, ws.database.transaction() as session:
        found = list_departures(
            session,
            actor=ws.actor(session),
            as_of=as_of or dt.date.today(),
            thresholds=Thresholds.of(ws.settings),
            state=state.value if state else None,
        )
    table = Table("person", "name", "granted", "deadline", "state", "exit", "case", "why")
    for departure in found:
        table.add_row(
            departure.person_id,
            departure.display_name,
            str(departure.granted_on or ""),
            departure.deadline.isoformat(),
            departure.state,
            str(departure.exit_on or ""),
            str(departure.case_id or ""),
            departure.why,
        )
    console.print(table)
    counts = {s: sum(1 for d in found if d.state == s) for s in DepartureState}
    console.print(
        f"{len(found):,} departures: " + ", ".join(f"{n:,} {s}" for s, n in counts.items() if n)
    )
