"""`caseline leads` and `caseline cases`: what the lead rules find, and the cases opened."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Column, Table

from caseline.cases import (
    LeadRule,
    State,
    Thresholds,
    assign_case,
    assignee_of,
    assignees,
    claim_case,
    lifecycle_markdown,
    list_cases,
    list_leads,
    open_case,
    read_case,
    take_step,
)
from caseline.cli.app import app, console, date_option, workspace

cases_app = typer.Typer(
    help="Cases: list, show, open, step, claim, assign, and the lifecycle.", no_args_is_help=True
)
app.add_typer(cases_app, name="cases")


@app.command()
def leads(
    rule: Annotated[
        list[LeadRule] | None, typer.Option(help="Only this rule (repeatable).")
    ] = None,
    as_of: Annotated[dt.date | None, date_option("The day the rules look at (today).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
) -> None:
    """What the lead rules find: removal orders with no departure, stays ended with no exit,
    voluntary-departure deadlines passed; each with what it found, in the order of the
    priority policy in force and saying which rules placed it (audited)."""
    with workspace() as ws, ws.database.transaction() as session:
        found = list_leads(
            session,
            actor=ws.actor(session),
            as_of=as_of or dt.date.today(),
            rules=rule,
            limit=limit,
        )
    table = Table("person", "name", "since", "found", "case", "priority")
    # Lead ids are what `caseline cases open --lead` takes: never cut.
    width = max((len(lead.lead_id) for lead in found), default=4)
    table.columns.insert(0, Column("lead", no_wrap=True, min_width=width))
    for lead in found:
        table.add_row(
            lead.lead_id,
            lead.person_id,
            lead.display_name,
            lead.since.isoformat(),
            lead.found,
            str(lead.open_case or ""),
            lead.priority.describe() if lead.priority else "",
        )
    console.print(table)
    console.print(f"{len(found):,} leads, in the order of the priority policy in force")


@cases_app.command("list")
def cases_list(
    state: Annotated[State | None, typer.Option(help="Only cases in this state.")] = None,
) -> None:
    """Cases, the most recently changed first (audited)."""
    with workspace() as ws, ws.database.transaction() as session:
        found = list_cases(session, actor=ws.actor(session), state=state)
        assigned = assignees(session, [c.id for c in found])
    table = Table("case", "state", "person", "name", "opened by", "assigned to", "from", "updated")
    for case in found:
        table.add_row(
            str(case.id),
            case.state,
            case.person_id,
            case.display_name,
            case.opened_by,
            assigned.get(case.id) or "",
            case.rule,
            f"{case.updated_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@cases_app.command("show")
def cases_show(
    case_id: Annotated[int, typer.Argument(help="The case's number.")],
    as_of: Annotated[dt.date | None, date_option("The day the guards look at (today).")] = None,
) -> None:
    """One case: what opened it, its history, and each next step with its guards (audited)."""
    with workspace() as ws, ws.database.transaction() as session:
        detail = read_case(
            session,
            case_id,
            actor=ws.actor(session),
            thresholds=Thresholds.of(ws.settings),
            as_of=as_of or dt.date.today(),
        )
        assigned = assignee_of(session, case_id)
    case = detail.case
    console.print(
        f"case {case.id}: {case.display_name} ({case.person_id}), {case.state}, "
        f"version {case.version}; opened by {case.opened_by}: {case.origin.get('found', '')}; "
        f"assigned to {assigned or 'nobody'}",
        soft_wrap=True,
    )
    history = Table("step", "from", "to", "by", "when", "reason", "dossier sha256")
    for step in detail.history:
        history.add_row(
            step.action,
            step.from_state,
            step.to_state,
            f"{step.actor} ({step.role})",
            f"{step.occurred_at:%Y-%m-%d %H:%M}",
            step.reason or "",
            (step.dossier_sha256 or "")[:16],
        )
    console.print(history)
    steps = Table("next step", "who", "guards")
    for option in detail.next_steps:
        guards = "; ".join(
            f"{'ok' if g.passed else 'STOPPED'} {g.guard.value}: {g.why}" for g in option.guards
        )
        steps.add_row(option.action, ", ".join(option.roles), guards or "-")
    console.print(steps)


@cases_app.command("open")
def cases_open(
    lead: Annotated[str | None, typer.Option(help="Open from this lead (its id).")] = None,
    person: Annotated[
        str | None, typer.Option(help="Or on this person (for the --lead given, if any)...")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="...with this reason.")] = None,
    as_of: Annotated[dt.date | None, date_option("The day the lead is found on (today).")] = None,
) -> None:
    """Open a case from a lead, or on a person with a reason, citing a lead or not (audited)."""
    with workspace() as ws, ws.database.transaction() as session:
        case = open_case(
            session,
            actor=ws.actor(session),
            as_of=as_of or dt.date.today(),
            lead_id=lead,
            person_id=person,
            reason=reason,
        )
    console.print(f"opened case {case.id} on {case.display_name} ({case.person_id})")


@cases_app.command("step")
def cases_step(
    case_id: Annotated[int, typer.Argument(help="The case's number.")],
    action: Annotated[str, typer.Argument(help="The step, as `caseline cases show` lists it.")],
    version: Annotated[
        int, typer.Option(help="The case's version you saw (`caseline cases show`).")
    ],
    reason: Annotated[
        str, typer.Option(help="Why you take the step (5 characters or more; kept).")
    ] = "",
    address: Annotated[str | None, typer.Option(help="The address a step acts at.")] = None,
    hearing_on: Annotated[str | None, typer.Option(help="The hearing's day (YYYY-MM-DD).")] = None,
    deadline: Annotated[
        str | None, typer.Option(help="The departure deadline (YYYY-MM-DD).")
    ] = None,
    as_of: Annotated[dt.date | None, date_option("The day the guards look at (today).")] = None,
) -> None:
    """Take a step of a case, with a reason, as the lifecycle and its guards allow (audited);
    refused, say which field, guard or newer version stopped it."""
    given = {"reason": reason, "address": address, "hearing_on": hearing_on, "deadline": deadline}
    with workspace() as ws, ws.database.transaction() as session:
        detail = take_step(
            session,
            case_id,
            action,
            actor=ws.actor(session),
            expected_version=version,
            fields={name: value for name, value in given.items() if value is not None},
            thresholds=Thresholds.of(ws.settings),
            as_of=as_of or dt.date.today(),
        )
    case = detail.case
    console.print(f"case {case.id} is now {case.state} at version {case.version}: {action} taken")


@cases_app.command("claim")
def cases_claim(case_id: Annotated[int, typer.Argument(help="The case's number.")]) -> None:
    """Take a case to work: one nobody works, or your own (audited)."""
    with workspace() as ws, ws.database.transaction() as session:
        taken = claim_case(session, case_id, actor=ws.actor(session))
    console.print(f"case {taken.case_id} is assigned to {taken.assigned_to}")


@cases_app.command("assign")
def cases_assign(
    case_id: Annotated[int, typer.Argument(help="The case's number.")],
    to: Annotated[str, typer.Option("--to", help="The analyst or supervisor to give it to.")],
) -> None:
    """Give a case to a named analyst or supervisor: supervisors only (audited)."""
    with workspace() as ws, ws.database.transaction() as session:
        given = assign_case(session, case_id, actor=ws.actor(session), to=to)
    was = f" (was {given.previous})" if given.previous else ""
    console.print(f"case {given.case_id} is assigned to {given.assigned_to}{was}")


@cases_app.command("lifecycle")
def cases_lifecycle() -> None:
    """Print the lifecycle (diagram and table) as docs/cases.md shows it."""
    typer.echo(lifecycle_markdown(), nl=False)
