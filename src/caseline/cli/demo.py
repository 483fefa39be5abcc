"""`caseline demo`: a small world generated, loaded, resolved, measured and served, with a user
per role and a few cases under way, so a new user sees every part at once."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from caseline.cases import (
    LeadRule,
    Thresholds,
    find_leads,
    open_case,
    read_person_on_case,
    take_step,
)
from caseline.cli.app import Workspace, acting_as, app, console, workspace
from caseline.cli.demo_seed import seed_disputes, seed_policy, seed_purpose_waiting
from caseline.cli.evaluate import evaluate_addresses_command, evaluate_persons
from caseline.cli.ingest import ingest
from caseline.cli.resolve import resolve
from caseline.cli.serve import serve_quietly
from caseline.cli.world import generate
from caseline.config import load_settings
from caseline.errors import CaselineError
from caseline.oversight import (
    Role,
    actor_with_password,
    add_first_admin,
    create_user,
    user_exists,
)
from caseline.synth import DEFAULT_REFERENCE_DATE

DEMO_PASSWORD = "caseline-demo"  # noqa: S105 - printed to the person running the local demo
DEMO_ADMIN = "admin"
# One user per role, each named after it; the demo loads and resolves as its engineer.
DEMO_USERS = {
    "analyst": Role.ANALYST,
    "supervisor": Role.SUPERVISOR,
    "legal": Role.LEGAL,  # files disputes for the persons they represent
    "reviewer": Role.LEGAL,  # reviews them (never one's own)
    "auditor": Role.AUDITOR,
    "engineer": Role.DATA_ENGINEER,
}
DEMO_ENGINEER = "engineer"
# The steps each demo case is taken through, as far as its guards allow.
DEMO_CASES = (
    (),
    ("begin_review",),
    ("begin_review", "confirm_identity"),
    ("begin_review", "confirm_identity", "propose_action"),
)


@app.command()
def demo(
    persons: Annotated[int, typer.Option(min=10, help="How many persons to draw.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    serving: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve it when it is ready.")
    ] = True,
) -> None:
    """Generate, ingest, resolve and evaluate a small world, open a few cases, then serve it
    on 127.0.0.1.

    Adds one user per role (password caseline-demo) and acts as its data engineer, then as
    its analyst for the cases.
    """
    world = load_settings().home / "world"
    generate(persons=persons, seed=seed, out=world)
    with workspace() as ws:
        _add_demo_users(ws)
    with acting_as(DEMO_ENGINEER, DEMO_PASSWORD):
        try:
            ingest([world], source=None)
        except typer.Exit as exit_:
            if exit_.exit_code == 2:
                raise
        resolve(engine="duckdb", model=None)
        reports = load_settings().home / "reports"
        evaluate_persons(world / "truth.csv", reports / "persons-evaluation.json")
        evaluate_addresses_command(
            truth=world / "truth.csv",
            current=world / "persons.csv",
            as_of=DEFAULT_REFERENCE_DATE,
            plot=None,
            json_out=reports / "address-evaluation.json",
        )
    with workspace() as ws:
        policy = seed_policy(ws, DEMO_PASSWORD, world, DEFAULT_REFERENCE_DATE)
        case_ids = _open_demo_cases(ws)
        disputes = seed_disputes(ws, DEMO_PASSWORD, case_ids, DEFAULT_REFERENCE_DATE)
        waiting = seed_purpose_waiting(ws, DEMO_PASSWORD, DEFAULT_REFERENCE_DATE)
    console.print(
        f"priority policy {f'v{policy} published' if policy else 'not published (see /policy)'}, "
        f"{len(case_ids)} cases under way, {disputes} disputes, "
        f"{int(waiting)} purpose waiting for a countersignature "
        f"(the world's reference date is {DEFAULT_REFERENCE_DATE})"
    )
    if serving:
        serve_quietly(host="127.0.0.1", port=port, announce=_sign_in_table)
    else:
        _sign_in_table(f"http://127.0.0.1:{port}/ once `caseline serve` runs")


def _sign_in_table(url: str) -> None:
    """What a new user needs, last on the screen: where, and who to sign in as."""
    table = Table("user", "role", "password", title=f"Caseline is at {url}", title_justify="left")
    for name, role in [*DEMO_USERS.items(), (DEMO_ADMIN, Role.ADMIN)]:
        table.add_row(name, role.value.replace("_", " "), DEMO_PASSWORD)
    console.print(table)
    console.print(f"Open [bold]{url}[/bold] and sign in as one of these (Ctrl+C stops it).")


def _add_demo_users(ws: Workspace) -> None:
    """The demo's users, added once: an admin first, who then adds one user per role."""
    with ws.database.transaction() as session:
        if not user_exists(session, DEMO_ADMIN):
            add_first_admin(session, DEMO_ADMIN, DEMO_PASSWORD)
        admin = actor_with_password(session, DEMO_ADMIN, DEMO_PASSWORD)
        for name, role in DEMO_USERS.items():
            if not user_exists(session, name):
                create_user(session, name, role, DEMO_PASSWORD, actor=admin)


def _open_demo_cases(ws: Workspace) -> list[int]:
    """A few cases from the leads, each taken as far as its steps list and its guards allow:
    the analyst reads the person for the case before confirming, as the guards require."""
    as_of, thresholds = DEFAULT_REFERENCE_DATE, Thresholds.of(ws.settings)
    with ws.database.transaction() as session:
        analyst = actor_with_password(session, "analyst", DEMO_PASSWORD)
        leads = [
            lead
            for rule in (LeadRule.REMOVAL_ORDER_NOT_DEPARTED, LeadRule.STAY_ENDED_NO_EXIT)
            for lead in find_leads(session, as_of, rules=[rule])[:2]
            if lead.open_case is None
        ]
    opened: list[int] = []
    for lead, steps in zip(leads, DEMO_CASES, strict=False):
        with ws.database.transaction() as session:
            case = open_case(session, actor=analyst, as_of=as_of, lead_id=lead.lead_id)
            opened.append(case.id)
        version = case.version
        for action in steps:
            try:
                with ws.database.transaction() as session:
                    profile = read_person_on_case(session, case.id, actor=analyst, as_of=as_of)
                    addresses = profile.addresses.addresses if profile.addresses else []
                    fields = {
                        "reason": "demo: records and links checked",
                        "address": addresses[0].address if addresses else "",
                    }
                    detail = take_step(
                        session, case.id, action, actor=analyst, expected_version=version,
                        fields=fields, thresholds=thresholds, as_of=as_of,
                    )  # fmt: skip
                version = detail.case.version
            except CaselineError:
                break  # a guard stops it here: the case page shows why
    return opened
