"""Cases: open one, read it with its allowed next steps, take a step, read the person on it.

Every function checks the actor's role through a permit and records its audit event in the
caller's transaction. A step is taken only as the lifecycle table allows it: the actor's role
must be one the step names, every guard must pass, every field it needs must be given (a
reason always: the history keeps why each step was taken), and the case must still be at the
version the actor saw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caseline.cases.dossier import assemble_dossier, canonical, sha256
from caseline.cases.guards import (
    CaseFacts,
    GuardResult,
    Thresholds,
    after_step,
    evaluate,
    gather_facts,
    note_thresholds,
    stopping_records,
)
from caseline.cases.leads import Lead, LeadRule, lead_by_id
from caseline.cases.workflow import (
    BY_ACTION,
    OUTCOMES,
    Field,
    State,
    Transition,
    transitions_from,
)
from caseline.db.models import Case, CaseTransition, Person
from caseline.errors import AccessDenied, ConflictError, GuardStopped, InputError, NotFoundError
from caseline.oversight import (
    Actor,
    CaseOpened,
    CaseRead,
    CasesListed,
    CaseStepTaken,
    PersonRead,
    permit,
)
from caseline.profiles import AddressConfidence, Profile, read_profile
from caseline.profiles.profile import kept_profile

MIN_REASON = 5


@dataclass(frozen=True, slots=True)
class NextStep:
    action: str
    label: str
    target: str
    roles: tuple[str, ...]
    fields: tuple[str, ...]
    yours: bool  # the actor's role may take it
    guards: tuple[GuardResult, ...]

    @property
    def blocked(self) -> bool:
        return not self.yours or any(not g.passed for g in self.guards)


@dataclass(frozen=True, slots=True)
class Step:
    id: int
    action: str
    from_state: str
    to_state: str
    actor: str
    role: str
    occurred_at: dt.datetime
    reason: str | None
    fields: dict[str, object]
    guards: list[dict[str, object]]
    dossier_sha256: str | None


@dataclass(frozen=True, slots=True)
class CaseSummary:
    id: int
    person_id: str
    display_name: str
    state: str
    version: int
    opened_by: str
    opened_at: dt.datetime
    updated_at: dt.datetime
    origin: dict[str, object]
    address: str | None
    deadline: dt.date | None

    @property
    def rule(self) -> str:
        return str(self.origin.get("rule", ""))


@dataclass(frozen=True, slots=True)
class CaseDetail:
    case: CaseSummary
    history: list[Step]
    next_steps: list[NextStep]
    # The person's own addresses an action could be proposed at, most probable first, as the
    # address guard judges them; a step needing an address is listed as judged at the first.
    addresses: list[AddressConfidence] = field(default_factory=list)


def open_case(
    session: Session,
    *,
    actor: Actor,
    as_of: dt.date,
    lead_id: str | None = None,
    person_id: str | None = None,
    reason: str | None = None,
) -> CaseSummary:
    """A case from a lead (found again on ``as_of``) on its person, or on a person with a
    reason, citing a lead or not. A case on another person than the lead's keeps the lead's
    records, which the grounds guard checks are the person's before any action."""
    allowed = permit(actor, CaseOpened)
    lead = lead_by_id(session, lead_id, as_of) if lead_id is not None else None
    if lead is not None and person_id in (None, lead.person_id):
        person_id, origin = lead.person_id, lead.as_origin()
    elif person_id is not None:
        if session.get(Person, person_id) is None:
            raise NotFoundError(f"no person {person_id!r}")
        origin = analyst_origin(actor, _reason(reason), lead)
    else:
        raise InputError("a case needs a lead or a person", where="lead_id")
    existing = session.scalar(
        select(Case.id).where(
            Case.person_id == person_id, Case.state.not_in([s.value for s in OUTCOMES])
        )
    )
    if existing is not None:
        raise ConflictError(
            f"case {existing} is already open on person {person_id}",
            details={"case_id": existing},
        )
    case = Case(
        person_id=person_id,
        state=State.LEAD.value,
        version=1,
        opened_by=actor.username,
        origin=origin,
    )
    session.add(case)
    session.flush()
    allowed.record(
        session,
        CaseOpened(case_id=str(case.id), person_id=person_id, origin=str(origin["rule"])),
    )
    return _summary(session, case)


def analyst_origin(actor: Actor, reason: str, lead: Lead | None = None) -> dict[str, object]:
    """What a case an analyst opens on a person keeps of why (and of the lead it cites)."""
    origin: dict[str, object] = {"rule": LeadRule.ANALYST.value, "found": reason,
                                 "by": actor.username}  # fmt: skip
    if lead is not None:
        origin |= {"lead_id": lead.lead_id, "records": list(lead.records)}
    return origin


def list_cases(
    session: Session, *, actor: Actor, state: State | None = None, limit: int = 500
) -> list[CaseSummary]:
    """Cases, newest change first (audited with the persons they name)."""
    allowed = permit(actor, CasesListed)
    statement = select(Case).order_by(Case.updated_at.desc(), Case.id.desc()).limit(limit)
    if state is not None:
        statement = statement.where(Case.state == state.value)
    cases = session.scalars(statement).all()
    names = _names(session, [c.person_id for c in cases])
    summaries = [_summary(session, c, names) for c in cases]
    allowed.record(
        session,
        CasesListed(
            state=state.value if state else None,
            persons=tuple(sorted({c.person_id for c in cases})),
        ),
    )
    return summaries


def read_case(
    session: Session, case_id: int, *, actor: Actor, thresholds: Thresholds, as_of: dt.date
) -> CaseDetail:
    """The case, its history and every next step with its guards' results (audited)."""
    allowed = permit(actor, CaseRead)
    case = _case(session, case_id)
    detail = _detail(session, case, actor, thresholds, as_of)
    allowed.record(session, CaseRead(case_id=str(case.id), person_id=case.person_id))
    return detail


def take_step(
    session: Session,
    case_id: int,
    action: str,
    *,
    actor: Actor,
    expected_version: int,
    fields: Mapping[str, str],
    thresholds: Thresholds,
    as_of: dt.date,
) -> CaseDetail:
    """Take one step of the lifecycle, or refuse it saying why (audited when taken).

    Refused with ConflictError when the case is no longer at ``expected_version`` (someone
    else took a step first), with GuardStopped when a guard stops it, with AccessDenied when
    the actor's role may not take it.
    """
    allowed = permit(actor, CaseStepTaken)
    transition = BY_ACTION.get(action)
    if transition is None:
        raise InputError(f"no step {action!r}; the case lists its next steps", where="action")
    case = _case(session, case_id)
    if case.version != expected_version:
        raise _conflict(case)
    state = State(case.state)
    if state not in transition.sources:
        raise InputError(f"{action} cannot be taken from {state.value}", where="action")
    if actor.role not in transition.roles:
        roles = ", ".join(sorted(transition.roles))
        raise AccessDenied(f"{action} is taken by {roles}, not {actor.role}")
    given = _fields(transition, fields)
    note_thresholds(session, actor, thresholds)
    facts = gather_facts(session, case, thresholds, as_of)
    results = [evaluate(g, facts, actor, given, case) for g in transition.guards]
    stopped = [r for r in results if not r.passed]
    if stopped:
        raise GuardStopped(
            f"{action} is stopped: " + "; ".join(f"{r.guard.value}: {r.why}" for r in stopped),
            details={"guards": [r.as_json() for r in results]},
        )
    target = transition.target_from(state)
    step_fields: dict[str, object] = dict(given)
    if transition.action == "clear_status":
        step_fields["cleared"] = sorted(stopping_records(facts))
    dossier_text = None
    if transition.dossier:
        dossier = assemble_dossier(
            case,
            kept_profile(session, case.person_id, as_of),
            facts,
            results,
            step=action,
            from_state=state.value,
            to_state=target.value,
            actor=actor.username,
            fields=given,
        )
        dossier_text = canonical(dossier)
    _advance(session, case, transition, target, given, expected_version)
    step = CaseTransition(
        case_id=case.id,
        action=action,
        from_state=state.value,
        to_state=target.value,
        actor=actor.username,
        role=actor.role.value,
        reason=given.get(Field.REASON),
        fields=step_fields,
        guards={
            "results": [r.as_json() for r in results],
            "thresholds": {"identity": thresholds.identity, "address": thresholds.address},
        },
        dossier=dossier_text,
        dossier_sha256=sha256(dossier_text) if dossier_text is not None else None,
    )
    session.add(step)
    session.flush()
    allowed.record(
        session,
        CaseStepTaken(
            case_id=str(case.id),
            person_id=case.person_id,
            step=action,
            from_state=state.value,
            to_state=target.value,
            reason=step.reason,
            dossier_sha256=step.dossier_sha256,
        ),
    )
    session.refresh(case)
    return _detail(session, case, actor, thresholds, as_of, facts)


def read_person_on_case(session: Session, case_id: int, *, actor: Actor, as_of: dt.date) -> Profile:
    """The profile of the person a case names, read for the case (audited with it)."""
    permit(actor, PersonRead, f"case:{case_id}")  # refuse before reading anything
    case = _case(session, case_id)
    return read_profile(
        session,
        case.person_id,
        actor=actor,
        purpose=f"case:{case.id}",
        as_of=as_of,
        case_id=str(case.id),
    )


def facts_of(session: Session, case_id: int, thresholds: Thresholds, as_of: dt.date) -> CaseFacts:
    """The facts the guards would look at now (for the simulation and the dossier check)."""
    return gather_facts(session, _case(session, case_id), thresholds, as_of)


def _advance(
    session: Session,
    case: Case,
    transition: Transition,
    target: State,
    given: Mapping[str, str],
    expected_version: int,
) -> None:
    """Move the case on, only if nobody moved it since the actor looked (one wins, the other
    gets ConflictError)."""
    values: dict[str, object] = {
        "state": target.value,
        "version": expected_version + 1,
        "updated_at": dt.datetime.now(dt.UTC),
    }
    if Field.ADDRESS in transition.fields:
        values["address"] = given[Field.ADDRESS]
    if Field.DEADLINE in transition.fields:
        values["deadline"] = dt.date.fromisoformat(given[Field.DEADLINE])
    moved = session.execute(
        update(Case)
        .where(Case.id == case.id, Case.version == expected_version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(case)
        raise _conflict(case)


def _fields(transition: Transition, given: Mapping[str, str]) -> dict[str, str]:
    clean: dict[str, str] = {}
    for name in transition.fields:
        if name == Field.REASON:
            clean[name] = _reason(given.get(name), f"{transition.action} needs")
            continue
        value = (given.get(name) or "").strip()
        if not value:
            raise InputError(f"{transition.action} needs {name}", where=name)
        if name in (Field.DEADLINE, Field.HEARING_ON):
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise InputError(f"{value!r} is not a date (YYYY-MM-DD)", where=name) from None
        clean[name] = value
    return clean


def _reason(reason: str | None, needs: str = "a case opened on a person needs") -> str:
    """The reason stated, trimmed; refused when blank or shorter than ``MIN_REASON``, since
    the case keeps it as why it was opened or why a step was taken."""
    stated = (reason or "").strip()
    if len(stated) < MIN_REASON:
        shown = "nothing" if not stated else f"{len(stated)} characters"
        raise InputError(
            f"{needs} a reason of at least {MIN_REASON} characters (given {shown}): "
            "the case's history keeps why",
            where="reason",
        )
    return stated


def _conflict(case: Case) -> ConflictError:
    return ConflictError(
        f"case {case.id} changed: it is now {case.state} at version {case.version}",
        details={"case_id": case.id, "state": case.state, "version": case.version},
    )


def _case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"no case {case_id}")
    return case


def _detail(
    session: Session,
    case: Case,
    actor: Actor,
    thresholds: Thresholds,
    as_of: dt.date,
    before_step: CaseFacts | None = None,
) -> CaseDetail:
    """The case's detail; ``before_step``: the facts gathered for a step just taken, which
    are brought up to date with the steps rather than gathered again."""
    state = State(case.state)
    steps = transitions_from(state)
    taken = session.scalars(
        select(CaseTransition).where(CaseTransition.case_id == case.id).order_by(CaseTransition.id)
    ).all()
    facts = None
    if steps:
        facts = (
            after_step(before_step, taken)
            if before_step is not None
            else gather_facts(session, case, thresholds, as_of, taken)
        )
    own = [a for a in facts.addresses.addresses if not a.lead] if facts else []
    likeliest = {Field.ADDRESS.value: own[0].address} if own else {}
    next_steps = []
    for t in steps:
        assert facts is not None
        guards = tuple(evaluate(g, facts, actor, likeliest, case) for g in t.guards)
        next_steps.append(
            NextStep(
                action=t.action,
                label=t.label,
                target=t.target_from(state).value,
                roles=tuple(sorted(t.roles)),
                fields=tuple(t.fields),
                yours=actor.role in t.roles,
                guards=guards,
            )
        )
    history = [
        Step(
            id=s.id,
            action=s.action,
            from_state=s.from_state,
            to_state=s.to_state,
            actor=s.actor,
            role=s.role,
            occurred_at=s.occurred_at,
            reason=s.reason,
            fields=dict(s.fields),
            guards=list(s.guards.get("results", [])),
            dossier_sha256=s.dossier_sha256,
        )
        for s in taken
    ]
    return CaseDetail(_summary(session, case), history, next_steps, own)


def _names(session: Session, person_ids: list[str]) -> dict[str, str]:
    if not person_ids:
        return {}
    return dict(
        session.execute(
            select(Person.person_id, Person.display_name).where(
                Person.person_id.in_(sorted(set(person_ids)))
            )
        ).all()
    )


def _summary(session: Session, case: Case, names: Mapping[str, str] | None = None) -> CaseSummary:
    known = names if names is not None else _names(session, [case.person_id])
    return CaseSummary(
        id=case.id,
        person_id=case.person_id,
        display_name=known.get(case.person_id, "(person no longer resolved)"),
        state=case.state,
        version=case.version,
        opened_by=case.opened_by,
        opened_at=case.opened_at,
        updated_at=case.updated_at,
        origin=dict(case.origin),
        address=case.address,
        deadline=case.deadline,
    )
