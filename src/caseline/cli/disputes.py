"""`caseline disputes`: file a dispute about a person's record, list, show, review, decide."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from caseline.cases import (
    DisputeKind,
    DisputeState,
    DisputeSummary,
    decide_dispute,
    file_dispute,
    list_disputes,
    read_dispute,
    start_review,
)
from caseline.cli.app import app, console, workspace

disputes_app = typer.Typer(
    help="Disputes and redress: file, list, show, review, decide.", no_args_is_help=True
)
app.add_typer(disputes_app, name="disputes")


@disputes_app.command("file")
def disputes_file(
    person: Annotated[str, typer.Argument(help="The person the record is held in.")],
    record: Annotated[str, typer.Argument(help="The record disputed.")],
    kind: Annotated[DisputeKind, typer.Option(help="What is disputed.")],
    grounds: Annotated[str, typer.Option(help="Why, in words (10 characters or more).")],
    document: Annotated[
        str | None, typer.Option(help="The document it rests on (a status dispute's).")
    ] = None,
    field: Annotated[str | None, typer.Option(help="A value dispute's field.")] = None,
    value: Annotated[
        str | None, typer.Option(help="The right value, or the status the document shows.")
    ] = None,
) -> None:
    """File a dispute about one of a person's records, for the person (audited). The record
    leaves every score until the dispute is decided."""
    with workspace() as ws, ws.database.transaction() as session:
        filed = file_dispute(
            session,
            ws.actor(session),
            person_id=person,
            record_id=record,
            kind=kind,
            grounds=grounds,
            document=document,
            field=field,
            value=value,
        )
    _show(filed)


@disputes_app.command("list")
def disputes_list(
    state: Annotated[DisputeState | None, typer.Option(help="Only disputes in this state.")] = None,
    person: Annotated[str | None, typer.Option(help="Only this person's.")] = None,
) -> None:
    """Disputes, newest first (audited)."""
    with workspace() as ws, ws.database.transaction() as session:
        found = list_disputes(session, ws.actor(session), state=state, person_id=person)
    table = Table("dispute", "state", "kind", "person", "record", "filed by", "filed", "reviewer")
    for d in found:
        table.add_row(
            str(d.id),
            d.state.value,
            d.kind.value,
            d.person_id,
            d.record_id,
            d.filed_by,
            f"{d.filed_at:%Y-%m-%d %H:%M}",
            d.reviewer or "",
        )
    console.print(table)
    console.print(f"{len(found):,} disputes")


@disputes_app.command("show")
def disputes_show(dispute: Annotated[int, typer.Argument(help="The dispute's number.")]) -> None:
    """One dispute, what upholding it did, and the person's open cases (audited)."""
    with workspace() as ws, ws.database.transaction() as session:
        found = read_dispute(session, ws.actor(session), dispute)
    _show(found)


@disputes_app.command("review")
def disputes_review(dispute: Annotated[int, typer.Argument(help="The dispute's number.")]) -> None:
    """Take a filed dispute up for review (never one you filed; audited)."""
    with workspace() as ws, ws.database.transaction() as session:
        taken = start_review(session, ws.actor(session), dispute)
    _show(taken)


@disputes_app.command("decide")
def disputes_decide(
    dispute: Annotated[int, typer.Argument(help="The dispute's number.")],
    reason: Annotated[str, typer.Option(help="Why, in words (10 characters or more).")],
    uphold: Annotated[
        bool, typer.Option("--uphold/--reject", help="Uphold it (adding its facts) or reject it.")
    ],
) -> None:
    """Uphold or reject a dispute you are reviewing (audited); upholding adds new facts and
    deletes none."""
    with workspace() as ws, ws.database.transaction() as session:
        decided = decide_dispute(session, ws.actor(session), dispute, uphold=uphold, reason=reason)
    _show(decided)


def _show(d: DisputeSummary) -> None:
    console.print(f"dispute {d.id}: {d.state.value}", markup=False)
    lines = {
        "kind": d.kind.value,
        "person": d.person_id,
        "record": f"{d.record_id} ({d.record_source})",
        "grounds": d.grounds,
        "document": d.document,
        "claims": f"{d.field or 'status'} = {d.claimed_value}" if d.claimed_value else None,
        "filed": f"by {d.filed_by} at {d.filed_at:%Y-%m-%d %H:%M}",
        "reviewer": d.reviewer,
        "decided": f"{d.decided_at:%Y-%m-%d %H:%M}" if d.decided_at else None,
        "reason": d.reason,
        "effect": json.dumps(d.effect, sort_keys=True) if d.effect else None,
        "open cases": ", ".join(str(c) for c in d.open_cases) or None,
    }
    for label, text in lines.items():
        if text:
            console.print(f"  {label}: {text}", markup=False, highlight=False)
