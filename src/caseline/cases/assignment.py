"""Who works a case: its assignee, claimed by an analyst or supervisor, or given by a supervisor.

A case is first its opener's. An analyst or supervisor claims a case that nobody works or
that is already theirs; a supervisor assigns a case to a named analyst or supervisor. A case
that has reached an outcome is neither claimed nor assigned. Each change is audited in the
caller's transaction. Reading the person for ``case:ID`` follows the assignment
(``purposes``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.cases.priority_ranking import Priority
from caseline.cases.service import CaseSummary, list_cases
from caseline.cases.workflow import OUTCOMES, State
from caseline.db.models import Case, User
from caseline.errors import AccessDenied, ConflictError, InputError, NotFoundError
from caseline.oversight import Actor, CaseAssigned, CaseClaimed, Role, permit

WORKERS = frozenset({Role.ANALYST, Role.SUPERVISOR})  # the roles a case is assigned to


@dataclass(frozen=True, slots=True)
class Assignment:
    """A case's assignee after a claim or an assignment, and whom it had before."""

    case_id: int
    assigned_to: str
    previous: str | None


@dataclass(frozen=True, slots=True)
class BoardCase:
    """A case as the board lists it: who works it, whether it is the reader's, and whether
    the reader may claim it."""

    case: CaseSummary
    assigned_to: str | None
    mine: bool
    claimable: bool
    priority: Priority | None = None  # where the policy in force placed it, and why


def claim_case(session: Session, case_id: int, *, actor: Actor) -> Assignment:
    """Take a case to work: one nobody works or already one's own (audited)."""
    allowed = permit(actor, CaseClaimed)
    _require_worker(actor, "claims")
    case = _open_case(session, case_id, "claimed")
    previous = case.assigned_to
    if previous is not None and previous != actor.username:
        raise ConflictError(
            f"case {case.id} is assigned to {previous}: a supervisor may assign it to you",
            details={"case_id": case.id, "assigned_to": previous},
        )
    case.assigned_to = actor.username
    case.updated_at = dt.datetime.now(dt.UTC)
    session.flush()
    allowed.record(
        session,
        CaseClaimed(case_id=str(case.id), person_id=case.person_id, previous=previous),
    )
    return Assignment(case.id, actor.username, previous)


def assign_case(session: Session, case_id: int, *, actor: Actor, to: str) -> Assignment:
    """Give a case to a named analyst or supervisor; only a supervisor does (audited)."""
    allowed = permit(actor, CaseAssigned)
    if actor.role is not Role.SUPERVISOR:
        raise AccessDenied(f"only a supervisor assigns cases; {actor.username} may claim one")
    assignee = _worker_named(session, to)
    case = _open_case(session, case_id, "assigned")
    previous = case.assigned_to
    case.assigned_to = assignee
    case.updated_at = dt.datetime.now(dt.UTC)
    session.flush()
    allowed.record(
        session,
        CaseAssigned(
            case_id=str(case.id), person_id=case.person_id, assigned_to=assignee, previous=previous
        ),
    )
    return Assignment(case.id, assignee, previous)


def assignee_of(session: Session, case_id: int) -> str | None:
    """Who works the case now (None: nobody)."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"no case {case_id}")
    return case.assigned_to


def assignees(session: Session, case_ids: list[int]) -> dict[int, str | None]:
    """Who works each of the cases (the listing that named them is audited)."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(Case.id, Case.assigned_to).where(Case.id.in_(sorted(set(case_ids))))
    ).all()
    return {case_id: assigned for case_id, assigned in rows}


def list_board(
    session: Session,
    *,
    actor: Actor,
    state: State | None = None,
    limit: int = 500,
    as_of: dt.date | None = None,
) -> list[BoardCase]:
    """The cases (audited as :func:`list_cases`), the reader's own first, each with its
    assignee and whether the reader may claim it; then in the order of the priority policy
    in force on ``as_of`` (each with why), or without it newest change first."""
    cases = list_cases(session, actor=actor, state=state, limit=limit)
    assigned = assignees(session, [c.id for c in cases])
    board = [
        BoardCase(
            case=c,
            assigned_to=assigned.get(c.id),
            mine=assigned.get(c.id) == actor.username,
            claimable=may_claim(actor, c.state, assigned.get(c.id)),
        )
        for c in cases
    ]
    if as_of is not None:
        from caseline.cases.priority_order import rank_board  # ranks the board: imports this

        return rank_board(session, board, as_of)
    return sorted(board, key=lambda row: not row.mine)  # stable: keeps the newest first


def may_claim(actor: Actor, state: str, assigned_to: str | None) -> bool:
    """Whether a claim by ``actor`` would be taken (a claim of one's own case changes nothing,
    so it is not offered)."""
    return actor.role in WORKERS and State(state) not in OUTCOMES and assigned_to is None


def assignable_users(session: Session) -> list[str]:
    """The enabled analysts and supervisors a supervisor may give a case to, by name."""
    return list(
        session.scalars(
            select(User.username)
            .where(User.role.in_([r.value for r in WORKERS]), User.disabled_at.is_(None))
            .order_by(User.username_key)
        )
    )


def _require_worker(actor: Actor, verb: str) -> None:
    if actor.role not in WORKERS:
        raise AccessDenied(f"only an analyst or a supervisor {verb} cases, not {actor.role}")


def _open_case(session: Session, case_id: int, done: str) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"no case {case_id}")
    if State(case.state) in OUTCOMES:
        raise ConflictError(
            f"case {case.id} has reached an outcome ({case.state}): it is not {done}",
            details={"case_id": case.id, "state": case.state},
        )
    return case


def _worker_named(session: Session, name: str) -> str:
    wanted = (name or "").strip()
    if not wanted:
        raise InputError("name the analyst or supervisor to assign the case to", where="to")
    user = session.scalar(select(User).where(User.username_key == wanted.lower()))
    if user is None or user.disabled_at is not None:
        raise InputError(f"no user {wanted!r} who may work cases", where="to")
    if user.role not in {r.value for r in WORKERS}:
        raise InputError(
            f"{user.username} is {user.role}: cases go to an analyst or a supervisor", where="to"
        )
    return user.username
