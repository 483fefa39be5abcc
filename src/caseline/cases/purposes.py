"""Purpose bound to work: reading a person needs a purpose tied to the reader's work.

- ``case:ID``: an open case (no outcome yet) that names the person and that the reader is
  assigned to (``assignment``): its assignee, or whoever took a step of it (a legal
  reviewer clearing a stop); a case nobody is assigned is also its opener's.
- ``lead:ID``: a lead being triaged: the records still give it on the day, it names the
  person, no case is open on it yet, and the reader's role lists leads.
- ``dispute:ID``: an open dispute about the person that the reader filed (a legal
  representative) or reviews (the reviewer under review; any legal reviewer, other than
  who filed it, while it waits for one).
- ``pair:ID``: a pair of the current review queue, for a reviewer of links, binding to
  the persons now holding its two records (``pair_review``).
- A reason in words (``access.require_purpose``): filed for a supervisor's countersignature
  (``oversight.countersign``), listed for them until they do; the read waits for it.

The interfaces
call :func:`state_purpose` in a transaction of its own (so that a reason filed for
countersigning stays filed when the read is refused), then :func:`read_person`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from caseline.cases.leads import find_leads, lead_by_id
from caseline.cases.workflow import OUTCOMES
from caseline.db.models import (
    Case,
    CaseTransition,
    Dispute,
    Person,
    PersonEvent,
    PersonRecord,
    ReviewPair,
)
from caseline.errors import AccessDenied, NotFoundError
from caseline.oversight import (
    Actor,
    Permission,
    PersonEventsRead,
    PersonRead,
    authorize,
    permit,
    require_countersigned,
    require_purpose,
    seek_countersign,
)
from caseline.profiles import Profile, read_profile
from caseline.profiles.disputed import OPEN_STATES, DisputeState
from caseline.resolve import PersonChangeEvent, list_person_events


@dataclass(frozen=True, slots=True)
class BoundPurpose:
    """A purpose checked against the work it names; ``case_id`` goes to the audit event."""

    text: str
    case_id: str | None = None


@dataclass(frozen=True, slots=True)
class WorkChoice:
    """A purpose the reader may state for a person, for a form to offer."""

    purpose: str
    label: str


def state_purpose(
    session: Session, person_id: str, *, actor: Actor, purpose: str | None, as_of: dt.date
) -> int | None:
    """Check the purpose for reading ``person_id``; a reason in words not yet countersigned
    is filed for supervisors (once) and its request id returned. Raises AccessDenied for a
    purpose that is not the reader's work, NotFoundError for an unknown case, lead or person."""
    permit(actor, PersonRead, purpose)  # the role and the purpose's form, before anything
    stated = require_purpose(purpose)
    if _is_work(stated):
        _bind_work(session, person_id, actor, stated, as_of)
        return None
    if not _known_person(session, person_id):
        raise NotFoundError(f"no person {person_id!r}")
    return seek_countersign(session, actor, person_scope(person_id), stated)


def bind_purpose(
    session: Session, person_id: str, *, actor: Actor, purpose: str | None, as_of: dt.date
) -> BoundPurpose:
    """The purpose, if it allows ``actor`` to read ``person_id`` now; AccessDenied if not
    (CountersignPending for a reason in words still waiting)."""
    stated = require_purpose(purpose)
    if _is_work(stated):
        return _bind_work(session, person_id, actor, stated, as_of)
    require_countersigned(session, actor, person_scope(person_id), stated)
    return BoundPurpose(stated)


def read_person(
    session: Session,
    person_id: str,
    *,
    actor: Actor,
    purpose: str | None,
    as_of: dt.date | None = None,
) -> Profile:
    """The person's profile, read for the work the purpose names (audited with its case)."""
    permit(actor, PersonRead, purpose)
    bound = bind_purpose(
        session, person_id, actor=actor, purpose=purpose, as_of=as_of or dt.date.today()
    )
    return read_profile(
        session, person_id, actor=actor, purpose=bound.text, as_of=as_of, case_id=bound.case_id
    )


def read_person_events(
    session: Session,
    person_id: str,
    *,
    actor: Actor,
    purpose: str | None,
    as_of: dt.date | None = None,
) -> list[PersonChangeEvent]:
    """The merges and splits that touched the person, read for the work the purpose names."""
    permit(actor, PersonEventsRead, purpose)
    bound = bind_purpose(
        session, person_id, actor=actor, purpose=purpose, as_of=as_of or dt.date.today()
    )
    return list_person_events(session, actor, person_id, bound.text, case_id=bound.case_id)


def work_on_person(
    session: Session, person_id: str, *, actor: Actor, as_of: dt.date
) -> list[WorkChoice]:
    """The purposes the reader may state for this person: their open cases on it, and the
    leads on it they may triage (for the profile page's purpose form). Unaudited: it shows
    only case and lead ids the reader could list."""
    authorize(actor, Permission.READ_PERSON)
    choices = [
        WorkChoice(f"case:{case.id}", f"case {case.id} ({case.state.replace('_', ' ')})")
        for case in session.scalars(
            select(Case)
            .where(Case.person_id == person_id, Case.state.not_in(_outcomes()))
            .order_by(Case.id)
        )
        if _assigned(session, case, actor)
    ]
    choices += [
        WorkChoice(f"dispute:{dispute.id}", f"dispute {dispute.id} ({dispute.kind})")
        for dispute in session.scalars(
            select(Dispute)
            .where(Dispute.person_id == person_id, Dispute.state.in_(OPEN_STATES))
            .order_by(Dispute.id)
        )
        if _works_on_dispute(dispute, actor)
    ]
    if _triages(actor):
        choices += [
            WorkChoice(f"lead:{lead.lead_id}", f"lead: {lead.found}")
            for lead in find_leads(session, as_of, person_ids=[person_id])
            if lead.open_case is None
        ]
    return choices


def person_scope(person_id: str) -> str:
    return f"person:{person_id}"


def _is_work(stated: str) -> bool:
    return stated.startswith(("case:", "lead:", "dispute:", "pair:"))


def _bind_work(
    session: Session, person_id: str, actor: Actor, stated: str, as_of: dt.date
) -> BoundPurpose:
    kind, _, ref = stated.partition(":")
    if kind == "case":
        if not ref.isdigit():
            raise AccessDenied(f"{stated!r} names no case: case:ID, with the case's number")
        case = session.get(Case, int(ref))
        if case is None:
            raise NotFoundError(f"no case {ref}")
        if case.state in _outcomes():
            raise AccessDenied(f"case {case.id} is {case.state}: only an open case is a purpose")
        if case.person_id != person_id:
            raise AccessDenied(f"case {case.id} is not about person {person_id}")
        if not _assigned(session, case, actor):
            raise AccessDenied(
                f"case {case.id} is not assigned to {actor.username}: it is the work of whoever "
                "opened it or took a step of it"
            )
        return BoundPurpose(stated, case_id=str(case.id))
    if kind == "dispute":
        return _bind_dispute(session, person_id, actor, stated, ref)
    if kind == "pair":
        return _bind_pair(session, person_id, actor, stated, ref)
    if not _triages(actor):
        raise AccessDenied(f"role '{actor.role}' triages no leads: state a case or a reason")
    lead = lead_by_id(session, ref, as_of)
    if lead.person_id != person_id:
        raise AccessDenied(f"lead {ref} is not about person {person_id}")
    if lead.open_case is not None:
        raise AccessDenied(f"a case is open on this lead: read for case:{lead.open_case}")
    return BoundPurpose(stated)


def _bind_dispute(
    session: Session, person_id: str, actor: Actor, stated: str, ref: str
) -> BoundPurpose:
    if not ref.isdigit():
        raise AccessDenied(f"{stated!r} names no dispute: dispute:ID, with its number")
    dispute = session.get(Dispute, int(ref))
    if dispute is None:
        raise NotFoundError(f"no dispute {ref}")
    if dispute.state not in OPEN_STATES:
        raise AccessDenied(f"dispute {ref} is {dispute.state}: only an open one is a purpose")
    if dispute.person_id != person_id:
        raise AccessDenied(f"dispute {ref} is not about person {person_id}")
    if not _works_on_dispute(dispute, actor):
        raise AccessDenied(
            f"dispute {ref} is not {actor.username}'s work: it is read by who filed it and "
            "who reviews it"
        )
    return BoundPurpose(stated)


def _bind_pair(
    session: Session, person_id: str, actor: Actor, stated: str, ref: str
) -> BoundPurpose:
    authorize(actor, Permission.DECIDE_LINKS)  # the queue is link reviewers' work
    if not ref.isdigit():
        raise AccessDenied(f"{stated!r} names no review pair: pair:ID, with its number")
    pair = session.get(ReviewPair, int(ref))
    if pair is None:
        raise NotFoundError(f"no review pair {ref}")
    current = session.scalar(select(func.max(ReviewPair.resolution_run_id)))
    if pair.resolution_run_id != current:
        raise AccessDenied(f"review pair {ref} is of an earlier resolution run's queue")
    holders = session.scalars(
        select(PersonRecord.person_id).where(
            PersonRecord.record_id.in_([pair.left_record_id, pair.right_record_id])
        )
    )
    if person_id not in set(holders):
        raise AccessDenied(f"review pair {ref} holds no record of person {person_id}")
    return BoundPurpose(stated)


def _works_on_dispute(dispute: Dispute, actor: Actor) -> bool:
    """The filer, the reviewer, or (while it waits for one) a legal reviewer who may take it."""
    if actor.username in (dispute.filed_by, dispute.reviewer):
        return True
    if dispute.state != DisputeState.FILED.value:
        return False
    try:
        authorize(actor, Permission.REVIEW_DISPUTES)
    except AccessDenied:
        return False
    return True


def _known_person(session: Session, person_id: str) -> bool:
    """A current person, or one a later run merged away or split (its history stays)."""
    if session.get(Person, person_id) is not None:
        return True
    # JSON containment differs between SQLite and PostgreSQL: narrow by text (a false hit
    # only lets a reason be filed for an id that is in no profile).
    mentioned = cast(PersonEvent.related_person_ids, String).contains(person_id, autoescape=True)
    found = session.scalar(
        select(PersonEvent.id).where(or_(PersonEvent.person_id == person_id, mentioned)).limit(1)
    )
    return found is not None


def _assigned(session: Session, case: Case, actor: Actor) -> bool:
    if case.assigned_to == actor.username:
        return True
    if case.assigned_to is None and case.opened_by == actor.username:
        return True
    stepped = session.scalar(
        select(CaseTransition.id)
        .where(CaseTransition.case_id == case.id, CaseTransition.actor == actor.username)
        .limit(1)
    )
    return stepped is not None


def _triages(actor: Actor) -> bool:
    try:
        authorize(actor, Permission.LIST_LEADS)
    except AccessDenied:
        return False
    return True


def _outcomes() -> list[str]:
    return [state.value for state in OUTCOMES]
