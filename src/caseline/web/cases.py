"""Case pages: the leads to open cases from, the board of cases by state, a case with its
history and next steps, and the person read for a case. Thin: parse, call
:mod:`caseline.cases` (the functions the API calls), render.

A step is a form posted with the version of the case the page showed. The server takes it
only as the lifecycle table and its guards allow; a step refused (a guard stops it, someone
else moved the case first, a field is missing) shows the case page again, as the case is
now, with the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caseline.api.deps import Authorized, DatabaseDep, SettingsDep
from caseline.cases import LIST_PAGE as PAGE_SIZE
from caseline.cases import (
    OUTCOMES,
    LeadRule,
    State,
    Thresholds,
    assign_case,
    assignable_users,
    assignee_of,
    case_priority,
    claim_case,
    list_board,
    may_claim,
    open_case,
    opened_under,
    page_of_leads,
    read_case,
    read_person_on_case,
    take_step,
)
from caseline.config import Settings
from caseline.db import Database
from caseline.errors import ConflictError, GuardStopped, InputError, NotFoundError
from caseline.oversight import Actor, Permission, Role
from caseline.resolve import list_person_events
from caseline.web.templating import AsOfDep, day, href, parse_day, templates

router = APIRouter(include_in_schema=False)
LEAD_RULES = [rule for rule in LeadRule if rule is not LeadRule.ANALYST]  # what the rules find
SHOWN = 500  # cases the board lists at most
Reason = Annotated[str, Form(max_length=1000)]
OUTCOME_VALUES = frozenset(s.value for s in OUTCOMES)


@router.get("/leads", response_class=HTMLResponse)
def leads_page(
    request: Request,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.LIST_LEADS)],
    as_of: AsOfDep,
    rule: Annotated[str, Query(max_length=64)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    return _render_leads(request, database, actor, as_of, rule, offset=offset)


@router.post("/cases")
def open_from_lead(
    request: Request,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.OPEN_CASES)],
    lead_id: Annotated[str, Form(max_length=200)],
    as_of: Annotated[str, Form(max_length=10)] = "",
    rule: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Open a case from a lead (found again on the day), then show it."""
    given = parse_day(as_of)
    try:
        with database.transaction() as session:
            case = open_case(session, actor=actor, as_of=day(given), lead_id=lead_id)
    except (ConflictError, NotFoundError, InputError) as exc:
        # already open, or the records no longer give the lead: the leads as they now are
        status = {ConflictError: 409, NotFoundError: 404}.get(type(exc), 422)
        return _render_leads(request, database, actor, given, rule, error=str(exc), status=status)
    return RedirectResponse(href(f"/cases/{case.id}", as_of=given), status_code=303)


@router.post("/persons/{person_id}/cases")
def open_on_person(
    person_id: str,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.OPEN_CASES)],
    reason: Reason,
    lead_id: Annotated[str, Form(max_length=200)] = "",
    as_of: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Open a case on the person of a profile with a reason, citing a lead or not; a refusal
    (a case already open, no such lead, a reason too short) shows the error page saying why."""
    given = parse_day(as_of)
    with database.transaction() as session:
        case = open_case(
            session, actor=actor, as_of=day(given), person_id=person_id,
            lead_id=lead_id.strip() or None, reason=reason,
        )  # fmt: skip
    return RedirectResponse(href(f"/cases/{case.id}", as_of=given), status_code=303)


@router.get("/cases", response_class=HTMLResponse)
def board_page(
    request: Request,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_CASES)],
    as_of: AsOfDep,
    state: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """The board: the reader's own cases first, then every case by state (or one state)."""
    chosen = _state(state)
    with database.transaction() as session:
        board = list_board(session, actor=actor, state=chosen, limit=SHOWN, as_of=day(as_of))
        assignable = assignable_users(session) if actor.role is Role.SUPERVISOR else []
    columns = [(s, [row for row in board if row.case.state == s]) for s in State]
    return templates.TemplateResponse(
        request,
        "cases.html",
        {
            "actor": actor,
            "section": "cases",
            "mine": [row for row in board if row.mine],
            "columns": [(s, rows) for s, rows in columns if chosen is None or s is chosen],
            "states": list(State),
            "state": chosen.value if chosen else "",
            "assignable": assignable,
            "total": len(board),
            "shown": SHOWN,
            "as_of_given": as_of,
        },
    )


@router.post("/cases/{case_id}/claim")
def claim_from_page(
    case_id: int,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.OPEN_CASES)],
    back: Annotated[str, Form(max_length=16)] = "board",
    as_of: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Take a case to work, then go back to the board or the case; a refusal (another works
    it, it has reached an outcome) shows the error page saying why."""
    with database.transaction() as session:
        claim_case(session, case_id, actor=actor)
    return RedirectResponse(_back(back, case_id, parse_day(as_of)), status_code=303)


@router.post("/cases/{case_id}/assign")
def assign_from_page(
    case_id: int,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.OPEN_CASES)],
    to: Annotated[str, Form(max_length=64)],
    back: Annotated[str, Form(max_length=16)] = "board",
    as_of: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """A supervisor gives a case to a named analyst or supervisor, then goes back."""
    with database.transaction() as session:
        assign_case(session, case_id, actor=actor, to=to)
    return RedirectResponse(_back(back, case_id, parse_day(as_of)), status_code=303)


def _back(back: str, case_id: int, as_of: dt.date | None) -> str:
    """Where a claim or an assignment returns: the case's page or the board, nowhere else."""
    return href(f"/cases/{case_id}" if back == "case" else "/cases", as_of=as_of)


def _state(value: str) -> State | None:
    if not value:
        return None
    try:
        return State(value)
    except ValueError:
        known = ", ".join(s.value for s in State)
        raise InputError(f"no state {value!r}; the states are {known}", where="state") from None


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request,
    case_id: int,
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Authorized(Permission.READ_CASES)],
    as_of: AsOfDep,
) -> Response:
    return _render_case(request, database, settings, actor, case_id, as_of)


@router.post("/cases/{case_id}/steps")
def take_a_step(
    request: Request,
    case_id: int,
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Authorized(Permission.TAKE_CASE_STEPS)],
    action: Annotated[str, Form(max_length=64)],
    expected_version: Annotated[int, Form()],
    reason: Reason = "",
    address: Annotated[str, Form(max_length=500)] = "",
    hearing_on: Annotated[str, Form(max_length=10)] = "",
    deadline: Annotated[str, Form(max_length=10)] = "",
    as_of: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Take a step, then show the case; refused, show the case as it now is and why."""
    given = parse_day(as_of)
    fields = {
        name: value
        for name, value in (
            ("reason", reason),
            ("address", address),
            ("hearing_on", hearing_on),
            ("deadline", deadline),
        )
        if value.strip()
    }
    try:
        with database.transaction() as session:
            take_step(
                session,
                case_id,
                action,
                actor=actor,
                expected_version=expected_version,
                fields=fields,
                thresholds=Thresholds.of(settings),
                as_of=day(given),
            )
    except (GuardStopped, ConflictError, InputError) as exc:
        return _render_case(
            request,
            database,
            settings,
            actor,
            case_id,
            given,
            refusal=Refusal.of(exc),
            submitted={"action": action, **fields},
            status=422 if isinstance(exc, InputError) else 409,
        )
    return RedirectResponse(href(f"/cases/{case_id}", as_of=given), status_code=303)


@router.get("/cases/{case_id}/person", response_class=HTMLResponse)
def person_on_case_page(
    request: Request,
    case_id: int,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_PERSON)],
    as_of: AsOfDep,
) -> Response:
    """The person's profile, read for the case (audited with it): what confirming the
    identity rests on."""
    purpose = f"case:{case_id}"
    with database.transaction() as session:
        profile = read_person_on_case(session, case_id, actor=actor, as_of=day(as_of))
        history = list_person_events(
            session, actor, profile.person_id, purpose, case_id=str(case_id)
        )
    return templates.TemplateResponse(
        request,
        "profile.html",
        {
            "actor": actor,
            "section": "cases",
            "profile": profile,
            "purpose": purpose,
            "history": history,
            "case_id": case_id,
            "as_of_given": as_of,
        },
    )


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the server did not take a step, as the case page shows it."""

    kind: str  # ConflictError, GuardStopped or InputError
    message: str
    guards: list[dict[str, object]]  # the guards that stopped it, with why and clears_by
    where: str | None = None  # the field refused, whose form shows the message beside it

    @classmethod
    def of(cls, exc: GuardStopped | ConflictError | InputError) -> Refusal:
        results = exc.details.get("guards", []) if isinstance(exc, GuardStopped) else []
        assert isinstance(results, list)
        where = exc.where if isinstance(exc, InputError) else None
        failed = [g for g in results if not g.get("passed")]
        return cls(type(exc).__name__, str(exc), failed, where)


def _render_leads(
    request: Request,
    database: Database,
    actor: Actor,
    as_of: dt.date | None,
    rule: str,
    *,
    offset: int = 0,
    error: str | None = None,
    status: int = 200,
) -> Response:
    chosen = _rule(rule)
    with database.transaction() as session:
        page = page_of_leads(
            session,
            actor=actor,
            as_of=day(as_of),
            rules=[chosen] if chosen else None,
            offset=offset,
            limit=PAGE_SIZE,
        )
    return templates.TemplateResponse(
        request,
        "leads.html",
        {
            "actor": actor,
            "section": "leads",
            "leads": page.items,
            "page": page,
            "rules": LEAD_RULES,
            "rule": chosen.value if chosen else "",
            "as_of": day(as_of),
            "as_of_given": as_of,
            "error": error,
        },
        status_code=status,
    )


def _rule(value: str) -> LeadRule | None:
    if not value:
        return None
    try:
        return LeadRule(value)
    except ValueError:
        known = ", ".join(rule.value for rule in LEAD_RULES)
        raise InputError(f"no rule {value!r}; the rules are {known}", where="rule") from None


def _render_case(
    request: Request,
    database: Database,
    settings: Settings,
    actor: Actor,
    case_id: int,
    as_of: dt.date | None,
    *,
    refusal: Refusal | None = None,
    submitted: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    thresholds = Thresholds.of(settings)
    with database.transaction() as session:
        detail = read_case(session, case_id, actor=actor, thresholds=thresholds, as_of=day(as_of))
        addresses = detail.addresses  # the person's own, as the address guard judges them
        assigned_to = assignee_of(session, case_id)
        assignable = assignable_users(session) if actor.role is Role.SUPERVISOR else []
        priority = case_priority(session, detail.case.person_id, day(as_of))
    return templates.TemplateResponse(
        request,
        "case.html",
        {
            "actor": actor,
            "section": "cases",
            "detail": detail,
            "case": detail.case,
            "addresses": addresses,
            "assigned_to": assigned_to,
            "claimable": may_claim(actor, detail.case.state, assigned_to),
            "assignable": assignable if detail.case.state not in OUTCOME_VALUES else [],
            "thresholds": thresholds,
            "as_of": day(as_of),
            "as_of_given": as_of,
            "refusal": refusal,
            "submitted": submitted or {},
            "priority": priority,
            "opened_priority": opened_under(detail.case.origin),
        },
        status_code=status,
    )
