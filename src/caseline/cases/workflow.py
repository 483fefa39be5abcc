"""The case lifecycle as data: states, and the transitions between them with who may take
each, the guards it must pass and the fields it needs.

This table is the one place the lifecycle is written down. The server takes a step only as
the table allows it, the API lists a case's next steps from it, and docs/cases.md draws it
(``caseline cases lifecycle``; a test checks the drawing is current).

Every step needs a reason: the case's history keeps, for each step, who took it, when, from
which state to which, and why. A transition without :attr:`Field.REASON` is refused when the
table is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from caseline.oversight import Role


class State(StrEnum):
    LEAD = "lead"
    IDENTITY_REVIEW = "identity_review"
    STATUS_REVIEW = "status_review"
    SUPERVISOR_APPROVAL = "supervisor_approval"
    ENFORCEMENT_ACTION = "enforcement_action"
    NOTICE = "notice"
    HEARING = "hearing"
    ORDER = "order"
    # Outcomes: a case that reaches one takes no further step.
    REMOVED = "removed"
    VOLUNTARY_DEPARTURE = "voluntary_departure"
    RELIEF_GRANTED = "relief_granted"
    TERMINATED = "terminated"
    CLOSED = "closed"


OUTCOMES = frozenset(
    {State.REMOVED, State.VOLUNTARY_DEPARTURE, State.RELIEF_GRANTED, State.TERMINATED,
     State.CLOSED}
)  # fmt: skip
ACTIVE = tuple(state for state in State if state not in OUTCOMES)


class Guard(StrEnum):
    """A check the server makes before a step; each says why it stops one and what clears it."""

    IDENTITY_ASSURANCE = "identity_assurance"  # resolution is sure enough of the person
    IDENTITY_SEEN = "identity_seen"  # the analyst read the person's records on this case
    IDENTITY_CONFIRMED = "identity_confirmed"  # confirmed, and unchanged by resolution since
    GROUNDS = "grounds"  # the person's own records give grounds for the action
    STATUS_CLEAR = "status_clear"  # no record shows a right to stay, or legal cleared it
    ADDRESS_CONFIDENT = "address_confident"  # the address is likely the current residence
    TWO_PEOPLE = "two_people"  # the approver is not who proposed


class Field(StrEnum):
    REASON = "reason"
    ADDRESS = "address"  # one of the person's addresses, as the profile shows it
    DEADLINE = "deadline"  # YYYY-MM-DD
    HEARING_ON = "hearing_on"  # YYYY-MM-DD


@dataclass(frozen=True, slots=True)
class Transition:
    action: str
    label: str
    sources: tuple[State, ...]
    target: State | None  # None: the case stays where it is (a review recorded on it)
    roles: frozenset[Role]
    guards: tuple[Guard, ...] = ()
    fields: tuple[Field, ...] = (Field.REASON,)
    dossier: bool = False  # assemble the dossier and keep its hash with the step

    def __post_init__(self) -> None:
        if Field.REASON not in self.fields:
            raise ValueError(f"step {self.action} keeps no reason: every step needs one")

    def target_from(self, state: State) -> State:
        return self.target or state


_ANALYST = frozenset({Role.ANALYST})
_SUPERVISOR = frozenset({Role.SUPERVISOR})
_LEGAL = frozenset({Role.LEGAL})
_CASEWORKER = frozenset({Role.ANALYST, Role.SUPERVISOR})  # a supervisor who proposes cannot approve
_IDENTITY = (Guard.IDENTITY_ASSURANCE, Guard.IDENTITY_SEEN)
_BEFORE_ACTION = (
    Guard.IDENTITY_CONFIRMED, Guard.GROUNDS, Guard.STATUS_CLEAR, Guard.ADDRESS_CONFIDENT
)  # fmt: skip
_CONFIRMED = tuple(s for s in ACTIVE if s not in (State.LEAD, State.IDENTITY_REVIEW))

TRANSITIONS: tuple[Transition, ...] = (
    Transition("begin_review", "Begin identity review", (State.LEAD,), State.IDENTITY_REVIEW,
               _ANALYST),
    Transition("confirm_identity", "Confirm the identity", (State.IDENTITY_REVIEW,),
               State.STATUS_REVIEW, _ANALYST, _IDENTITY),
    Transition("reconfirm_identity", "Confirm the identity again", _CONFIRMED, None, _ANALYST,
               _IDENTITY),
    Transition("clear_status", "Clear the status stop", (State.STATUS_REVIEW,), None, _LEGAL),
    Transition("propose_action", "Propose an enforcement action", (State.STATUS_REVIEW,),
               State.SUPERVISOR_APPROVAL, _CASEWORKER, _BEFORE_ACTION,
               (Field.ADDRESS, Field.REASON), dossier=True),
    Transition("return_for_review", "Return for review", (State.SUPERVISOR_APPROVAL,),
               State.STATUS_REVIEW, _SUPERVISOR),
    Transition("approve_action", "Approve the enforcement action", (State.SUPERVISOR_APPROVAL,),
               State.ENFORCEMENT_ACTION, _SUPERVISOR, (Guard.TWO_PEOPLE, *_BEFORE_ACTION),
               dossier=True),
    Transition("serve_notice", "Serve the notice to appear", (State.ENFORCEMENT_ACTION,),
               State.NOTICE, _ANALYST, (Guard.IDENTITY_CONFIRMED, Guard.STATUS_CLEAR),
               dossier=True),
    Transition("schedule_hearing", "Schedule the hearing", (State.NOTICE,), State.HEARING,
               _LEGAL, (Guard.IDENTITY_CONFIRMED,), (Field.HEARING_ON, Field.REASON),
               dossier=True),
    Transition("record_removal_order", "Record a removal order", (State.HEARING,), State.ORDER,
               _LEGAL, (Guard.IDENTITY_CONFIRMED, Guard.STATUS_CLEAR), dossier=True),
    Transition("carry_out_removal", "Carry out the removal", (State.ORDER,), State.REMOVED,
               _SUPERVISOR, (Guard.IDENTITY_CONFIRMED, Guard.STATUS_CLEAR), dossier=True),
    Transition("grant_voluntary_departure", "Grant voluntary departure",
               (State.HEARING, State.ORDER), State.VOLUNTARY_DEPARTURE, _LEGAL,
               (Guard.IDENTITY_CONFIRMED,), (Field.DEADLINE, Field.REASON), dossier=True),
    Transition("grant_relief", "Grant relief", (State.HEARING, State.ORDER),
               State.RELIEF_GRANTED, _LEGAL, dossier=True),
    Transition("terminate", "Terminate the case", ACTIVE, State.TERMINATED, _LEGAL,
               dossier=True),
    Transition("close", "Close the case", ACTIVE, State.CLOSED, _SUPERVISOR, dossier=True),
)  # fmt: skip

BY_ACTION = {transition.action: transition for transition in TRANSITIONS}


def transitions_from(state: State) -> list[Transition]:
    """The steps the table allows from ``state``, whoever may take them."""
    return [t for t in TRANSITIONS if state in t.sources]


def mermaid_diagram() -> str:
    """The lifecycle as a Mermaid state diagram (what docs/cases.md shows)."""
    lines = ["stateDiagram-v2", f"    [*] --> {State.LEAD.value}"]
    for transition in TRANSITIONS:
        if transition.target is None or len(transition.sources) > 2:
            continue
        roles = "/".join(sorted(role.value for role in transition.roles))
        for source in transition.sources:
            lines.append(
                f"    {source.value} --> {transition.target.value}: {transition.action} ({roles})"
            )
    for outcome in sorted(OUTCOMES):
        lines.append(f"    {outcome.value} --> [*]")
    return "\n".join(lines) + "\n"


def table_markdown() -> str:
    """Every transition with its sources, target, roles, guards and fields (for the docs)."""
    rows = [
        "| action | from | to | who | guards | fields |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for t in TRANSITIONS:
        sources = "any active state" if t.sources == ACTIVE else ", ".join(t.sources)
        rows.append(
            f"| `{t.action}` | {sources} | {t.target.value if t.target else '(stays)'} | "
            f"{', '.join(sorted(t.roles))} | {', '.join(f'`{g}`' for g in t.guards) or '-'} | "
            f"{', '.join(t.fields) or '-'} |"
        )
    return "\n".join(rows) + "\n"


def lifecycle_markdown() -> str:
    """The generated part of docs/cases.md: the diagram and the table."""
    return (
        "```mermaid\n" + mermaid_diagram() + "```\n\n"
        "Steps that any active state allows (`terminate`, `close`) and steps that leave the "
        "case where it is (`reconfirm_identity`, `clear_status`) are in the table only.\n\n"
        + table_markdown()
    )
