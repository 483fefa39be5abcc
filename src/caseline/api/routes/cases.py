"""Leads and cases: what the rules find, cases opened from them, and the steps of each case.

A step is posted with the version of the case the client saw; 409 answers a step someone
else took first (with the case's state now) and a step a guard stops (with every guard's
result: which, why, and what would clear it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from caseline.api.deps import Authorized, DatabaseDep, SettingsDep, day_query
from caseline.api.routes.persons import AddressOut, ProfileOut
from caseline.cases import LIST_PAGE as PAGE_SIZE
from caseline.cases import MAX_LIST_PAGE as MAX_PAGE_SIZE
from caseline.cases import (
    CaseDetail,
    CaseSummary,
    Lead,
    LeadRule,
    Priority,
    State,
    Thresholds,
    assign_case,
    assignee_of,
    check_dossier,
    claim_case,
    list_board,
    open_case,
    page_of_leads,
    read_case,
    read_person_on_case,
    take_step,
)
from caseline.cases import ListPage as Page
from caseline.oversight import Actor, Permission

router = APIRouter(tags=["cases"])
AsOf = Annotated[dt.date | None, day_query("The day the rules and guards look at (today)")]


class AppliedRuleOut(BaseModel):
    rule_id: str
    title: str
    weight: int
    tier: int


class PriorityOut(BaseModel):
    version: int | None = Field(description="The policy version (None: the shipped default)")
    policy: str
    rank: int
    tier: int
    score: int
    rules: list[AppliedRuleOut]
    explanation: str = Field(description='e.g. "ranked by policy v2: final_order (+40)"')


class LeadOut(BaseModel):
    lead_id: str
    rule: str
    person_id: str
    display_name: str
    found: str
    since: dt.date
    records: list[str]
    open_case: int | None
    priority: PriorityOut | None = None  # where the policy in force placed it, and why


class CaseOut(BaseModel):
    id: int
    person_id: str
    display_name: str
    state: str
    version: int
    opened_by: str
    opened_at: dt.datetime
    updated_at: dt.datetime
    origin: dict[str, Any]
    address: str | None
    deadline: dt.date | None
    assigned_to: str | None = None  # who works the case (None: nobody)
    priority: PriorityOut | None = None  # where the policy in force places it (the board)


class GuardOut(BaseModel):
    guard: str
    passed: bool
    why: str
    clears_by: str


class NextStepOut(BaseModel):
    action: str
    label: str
    target: str
    roles: list[str]
    fields: list[str]
    yours: bool
    blocked: bool
    guards: list[GuardOut]


class StepOut(BaseModel):
    id: int
    action: str
    from_state: str
    to_state: str
    actor: str
    role: str
    occurred_at: dt.datetime
    reason: str | None
    fields: dict[str, Any]
    guards: list[dict[str, Any]]
    dossier_sha256: str | None


class CaseDetailOut(BaseModel):
    case: CaseOut
    history: list[StepOut]
    next_steps: list[NextStepOut]
    addresses: list[AddressOut]  # the person's own, where an action may be proposed

    @classmethod
    def of(cls, detail: CaseDetail, assigned_to: str | None = None) -> CaseDetailOut:
        return cls(
            case=_case_out(detail.case, assigned_to),
            history=[StepOut.model_validate(s, from_attributes=True) for s in detail.history],
            next_steps=[
                NextStepOut(
                    action=n.action,
                    label=n.label,
                    target=n.target,
                    roles=list(n.roles),
                    fields=list(n.fields),
                    yours=n.yours,
                    blocked=n.blocked,
                    guards=[GuardOut.model_validate(g.as_json()) for g in n.guards],
                )
                for n in detail.next_steps
            ],
            addresses=[
                AddressOut.model_validate(a, from_attributes=True) for a in detail.addresses
            ],
        )


class OpenCaseIn(BaseModel):
    lead_id: str | None = Field(default=None, description="Open from this lead")
    person_id: str | None = Field(
        default=None,
        description="Or on this person, with a reason; with lead_id, a case on this person "
        "for that lead, whose records the grounds guard checks are the person's",
    )
    reason: str | None = Field(default=None, max_length=1000)


class AssignIn(BaseModel):
    to: str = Field(max_length=64, description="The analyst or supervisor to give it to")


class AssignmentOut(BaseModel):
    case_id: int
    assigned_to: str
    previous: str | None  # whom it was assigned to before


class StepIn(BaseModel):
    action: str = Field(max_length=64)
    expected_version: int = Field(description="The case's version the client last saw")
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="What the step needs (the case's next_steps list it): a `reason` of at "
        "least 5 characters for every step, kept in the history; `address`, `hearing_on` or "
        "`deadline` for the steps that name one",
    )


class DossierOut(BaseModel):
    case_id: int
    step_id: int
    dossier: dict[str, Any]
    sha256: str
    intact: bool  # the kept dossier still hashes to the hash kept with the step
    person_changed: bool  # what the records say of the person differs today
    person_changes: list[str]


def _case_out(
    case: CaseSummary, assigned_to: str | None = None, priority: Priority | None = None
) -> CaseOut:
    out = CaseOut.model_validate(case, from_attributes=True)
    return out.model_copy(update={"assigned_to": assigned_to, "priority": _priority(priority)})


def _priority(priority: Priority | None) -> PriorityOut | None:
    if priority is None:
        return None
    return PriorityOut.model_validate(
        {**priority.as_dict(), "rules": [asdict(r) for r in priority.rules]}
    )


def _lead_out(lead: Lead) -> LeadOut:
    out = LeadOut.model_validate(replace(lead, priority=None), from_attributes=True)
    return out.model_copy(update={"priority": _priority(lead.priority)})


@router.get("/leads", response_model=list[LeadOut])
def leads(
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.LIST_LEADS)],
    response: Response,
    rule: Annotated[list[LeadRule] | None, Query(description="Only these rules")] = None,
    as_of: AsOf = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Leads to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Leads per page")] = PAGE_SIZE,
) -> list[LeadOut]:
    """A page of what the lead rules find on the day, in the order of the priority policy in
    force, each with the version and rules that placed it; audited with the persons listed.
    ``X-Total-Count`` says how many leads there are in all, ``X-Next-Offset`` (when more
    follow) where the next page starts."""
    with database.transaction() as session:
        page = page_of_leads(
            session,
            actor=actor,
            as_of=as_of or dt.date.today(),
            rules=rule,
            offset=offset,
            limit=limit,
        )
    paging_headers(response, page)
    return [_lead_out(lead) for lead in page.items]


def paging_headers(response: Response, page: Page[Any]) -> None:
    """How many items the whole list holds, and where the next page starts (if any)."""
    response.headers["X-Total-Count"] = str(page.total)
    if page.next_offset is not None:
        response.headers["X-Next-Offset"] = str(page.next_offset)


@router.post("/cases", response_model=CaseOut, status_code=status.HTTP_201_CREATED)
def open_one(
    body: OpenCaseIn,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.OPEN_CASES)],
    as_of: AsOf = None,
) -> CaseOut:
    """Open a case from a lead, or on a person with a reason. Audited."""
    with database.transaction() as session:
        case = open_case(
            session,
            actor=actor,
            as_of=as_of or dt.date.today(),
            lead_id=body.lead_id,
            person_id=body.person_id,
            reason=body.reason,
        )
        assigned = assignee_of(session, case.id)
    return _case_out(case, assigned)


@router.get("/cases", response_model=list[CaseOut])
def cases(
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_CASES)],
    state: Annotated[State | None, Query(description="Only cases in this state")] = None,
    as_of: AsOf = None,
) -> list[CaseOut]:
    """Cases, the reader's own first, then in the order of the priority policy in force on
    the day, each with the version and rules that placed it. Audited."""
    with database.transaction() as session:
        board = list_board(session, actor=actor, state=state, as_of=as_of or dt.date.today())
    return [_case_out(row.case, row.assigned_to, row.priority) for row in board]


@router.get("/cases/{case_id}", response_model=CaseDetailOut)
def case(
    case_id: int,
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Authorized(Permission.READ_CASES)],
    as_of: AsOf = None,
) -> CaseDetailOut:
    """The case, its history, and its next steps with each guard's result. Audited."""
    with database.transaction() as session:
        detail = read_case(
            session,
            case_id,
            actor=actor,
            thresholds=Thresholds.of(settings),
            as_of=as_of or dt.date.today(),
        )
        assigned = assignee_of(session, case_id)
    return CaseDetailOut.of(detail, assigned)


@router.post("/cases/{case_id}/steps", response_model=CaseDetailOut)
def step(
    case_id: int,
    body: StepIn,
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Authorized(Permission.TAKE_CASE_STEPS)],
    as_of: AsOf = None,
) -> CaseDetailOut:
    """Take a step: 200 with the case as it now is; 403 if the role may not take it; 409 if
    the case moved on since ``expected_version`` or a guard stops the step; 422 with ``where``
    for a field missing or malformed (every step needs a reason). Audited."""
    with database.transaction() as session:
        detail = take_step(
            session,
            case_id,
            body.action,
            actor=actor,
            expected_version=body.expected_version,
            fields=body.fields,
            thresholds=Thresholds.of(settings),
            as_of=as_of or dt.date.today(),
        )
        assigned = assignee_of(session, case_id)
    return CaseDetailOut.of(detail, assigned)


@router.post("/cases/{case_id}/claim", response_model=AssignmentOut)
def claim(
    case_id: int,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.OPEN_CASES)],
) -> AssignmentOut:
    """Take a case to work: one nobody works, or one's own; 409 if another works it or it
    has reached an outcome. Audited."""
    with database.transaction() as session:
        taken = claim_case(session, case_id, actor=actor)
    return AssignmentOut.model_validate(taken, from_attributes=True)


@router.post("/cases/{case_id}/assign", response_model=AssignmentOut)
def assign(
    case_id: int,
    body: AssignIn,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.OPEN_CASES)],
) -> AssignmentOut:
    """Give a case to a named analyst or supervisor: supervisors only (403 for others); 422
    for a name that is no such user; 409 for a case that has reached an outcome. Audited."""
    with database.transaction() as session:
        given = assign_case(session, case_id, actor=actor, to=body.to)
    return AssignmentOut.model_validate(given, from_attributes=True)


@router.get("/cases/{case_id}/person", response_model=ProfileOut)
def person(
    case_id: int,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_PERSON)],
    as_of: AsOf = None,
) -> ProfileOut:
    """The profile of the person the case names, read for the case (audited with it)."""
    with database.transaction() as session:
        profile = read_person_on_case(session, case_id, actor=actor, as_of=as_of or dt.date.today())
    return ProfileOut.of(profile)


@router.get("/cases/{case_id}/dossiers/{step_id}", response_model=DossierOut)
def dossier(
    case_id: int,
    step_id: int,
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Authorized(Permission.READ_CASES)],
) -> DossierOut:
    """The dossier kept with a step, checked: still as hashed, and whether the person's
    records say something else today. Audited."""
    with database.transaction() as session:
        checked = check_dossier(
            session, case_id, step_id, actor=actor, thresholds=Thresholds.of(settings)
        )
    return DossierOut.model_validate(checked, from_attributes=True)
