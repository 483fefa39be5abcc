"""Voluntary departures, verified against exit records.

A departure comes from a court record granting voluntary departure (with the deadline the
record states) or from a case in state ``voluntary_departure`` (with the deadline legal set).
Each is, on a reference date:

- verified: an exit on the person's own records since the grant, and the person's identity
  assurance at or above the threshold (an exit after the deadline says the person left late);
- probable: an exit on the person's records while the assurance is below the threshold, or
  an exit record of a namesake that resolution did not link to the person (same given and
  family name, a date of birth that matches or is missing);
- pending: no exit yet, and the deadline has not passed;
- overdue: the deadline passed with no exit.

Everything is read in a few queries over all departures at once, then decided in one pass.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.cases.guards import Thresholds
from caseline.cases.lead_cache import PAGE_SIZE, Page, computed_lists, page_of
from caseline.cases.workflow import OUTCOMES, State
from caseline.db.models import Case, CaseTransition, Person, PersonRecord, SourceRecord
from caseline.errors import InputError
from caseline.oversight import Actor, DeparturesListed, permit
from caseline.profiles import PersonStatus, load_status_records, status_by_person
from caseline.profiles.record_identities import record_identities
from caseline.standardise.status import StatusTerm

GRANTED_IN_COURT = "VOLUNTARY_DEPARTURE_GRANTED"  # a court record's outcome
GRANT_STEP = "grant_voluntary_departure"  # the case step that sets a deadline
CHUNK = 2000  # ids per IN list, well under every backend's limit on bound parameters


class DepartureState(StrEnum):
    VERIFIED = "verified"
    PROBABLE = "probable"
    PENDING = "pending"  # the deadline has not passed and no exit is on record yet
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class Departure:
    person_id: str
    display_name: str
    granted_on: dt.date | None
    deadline: dt.date
    state: str  # a DepartureState value
    why: str  # one sentence: which exit record, whose, how sure, or that none exists
    exit_record_id: str | None
    exit_on: dt.date | None
    case_id: int | None  # a case on the person, if any


@dataclass(frozen=True, slots=True)
class _Grant:
    granted_on: dt.date | None
    deadline: dt.date
    by: str  # what granted it: a court record or a case
    case_id: int | None = None


@dataclass(frozen=True, slots=True)
class _ExitRecord:
    record_id: str
    on: dt.date
    given_name: str
    family_name: str
    date_of_birth: dt.date | None
    person_id: str | None  # the person resolution put it in, if any


@dataclass(frozen=True, slots=True)
class _Identity:
    """What a namesake's exit record is compared with: the best name and the dates of birth."""

    given_name: str | None
    family_name: str | None
    dates_of_birth: frozenset[dt.date]


def list_departures(
    session: Session,
    *,
    actor: Actor,
    as_of: dt.date,
    thresholds: Thresholds,
    state: str | None = None,
) -> list[Departure]:
    """Every voluntary departure on ``as_of``, deadline first, each verified against exit
    records (audited with the persons listed). ``state`` keeps one state only."""
    wanted = _wanted_state(state)
    allowed = permit(actor, DeparturesListed)
    found = find_departures(session, as_of, thresholds)
    shown = [d for d in found if wanted is None or d.state == wanted]
    allowed.record(session, DeparturesListed(persons=tuple(sorted({d.person_id for d in shown}))))
    return shown


def page_of_departures(
    session: Session,
    *,
    actor: Actor,
    as_of: dt.date,
    thresholds: Thresholds,
    state: str | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> Page[Departure]:
    """One page of the voluntary departures on ``as_of``, deadline first, with how many
    there are (audited with the persons on the page). ``state`` keeps one state only."""
    wanted = _wanted_state(state)
    allowed = permit(actor, DeparturesListed)
    every = computed_departures(session, as_of, thresholds)
    page = page_of([d for d in every if wanted is None or d.state == wanted], offset, limit)
    persons = tuple(sorted({d.person_id for d in page.items}))
    allowed.record(session, DeparturesListed(persons=persons))
    return page


def computed_departures(
    session: Session, as_of: dt.date, thresholds: Thresholds
) -> tuple[Departure, ...]:
    """:func:`find_departures`, computed once per state of the data it reads (see
    :mod:`caseline.cases.lead_cache`)."""
    return computed_lists.get(
        session,
        "departures",
        as_of,
        thresholds,
        lambda: find_departures(session, as_of, thresholds),
    )


def find_departures(session: Session, as_of: dt.date, thresholds: Thresholds) -> list[Departure]:
    """The departures on ``as_of`` (unaudited: for the entry points that audit)."""
    from_cases = _granted_by_cases(session)
    person_ids = sorted(set(from_cases) | _granted_in_court(session))
    statuses: dict[str, PersonStatus] = {}
    for chunk in _chunks(person_ids):
        statuses.update(status_by_person(load_status_records(session, chunk), as_of))
    persons = _persons(session, person_ids)
    identities = _identities(session, person_ids)
    exits_by_name = _exits_by_name(session, identities.values(), as_of)
    cases = _cases_on(session, person_ids)
    departures: list[Departure] = []
    for person_id in person_ids:
        status = statuses.get(person_id)
        grants = [*_court_grants(status), *from_cases.get(person_id, ())]
        if not grants:
            continue  # the court record was observed after the reference date
        grant = max(grants, key=lambda g: (g.granted_on or dt.date.min, g.deadline))
        name, assurance = persons.get(person_id, ("(person no longer resolved)", None))
        identity = identities.get(person_id, _Identity(None, None, frozenset()))
        state, why, exit_record = _decide(
            person_id, grant, status, assurance, identity, exits_by_name, thresholds, as_of
        )
        departures.append(
            Departure(
                person_id=person_id,
                display_name=name,
                granted_on=grant.granted_on,
                deadline=grant.deadline,
                state=state.value,
                why=why,
                exit_record_id=exit_record[0] if exit_record else None,
                exit_on=exit_record[1] if exit_record else None,
                case_id=grant.case_id or cases.get(person_id),
            )
        )
    return sorted(departures, key=lambda d: (d.deadline, d.person_id))


def _decide(
    person_id: str,
    grant: _Grant,
    status: PersonStatus | None,
    assurance: float | None,
    identity: _Identity,
    exits_by_name: dict[tuple[str, str], list[_ExitRecord]],
    thresholds: Thresholds,
    as_of: dt.date,
) -> tuple[DepartureState, str, tuple[str, dt.date] | None]:
    since = grant.granted_on or dt.date.min
    border = [b for b in (status.border if status else []) if b.on is not None and b.on >= since]
    own_exit = next((b for b in border if b.direction == "EXIT"), None)
    if own_exit is not None:
        assert own_exit.on is not None
        when = _when(own_exit.on, grant.deadline)
        back = next(
            (b.on for b in border if b.direction == "ENTRY" and b.on and b.on > own_exit.on), None
        )
        again = f"; re-entered on {back}" if back else ""
        needed = thresholds.identity
        if assurance is not None and assurance >= needed:
            return (
                DepartureState.VERIFIED,
                f"exit record {own_exit.record_id} on the person's own records {when} "
                f"(granted by {grant.by}); identity assurance {assurance:.2f} >= {needed}{again}",
                (own_exit.record_id, own_exit.on),
            )
        shown = "not assessed" if assurance is None else f"{assurance:.2f}"
        return (
            DepartureState.PROBABLE,
            f"exit record {own_exit.record_id} on the person's records {when}, but identity "
            f"assurance {shown} is below {needed}: a weak link may have put another's exit "
            f"there{again}",
            (own_exit.record_id, own_exit.on),
        )
    namesake = _namesake_exit(person_id, identity, exits_by_name, since)
    if namesake is not None:
        exit_record, birth, others = namesake
        more = f" ({others} more such records)" if others else ""
        return (
            DepartureState.PROBABLE,
            f"exit of a namesake, record {exit_record.record_id}, not linked to the person: "
            f"{exit_record.given_name} {exit_record.family_name}, {birth}, left "
            f"{_when(exit_record.on, grant.deadline)}{more}",
            (exit_record.record_id, exit_record.on),
        )
    granted = f"since the grant on {grant.granted_on}" if grant.granted_on else "since the grant"
    if grant.deadline < as_of:
        days = (as_of - grant.deadline).days
        return (
            DepartureState.OVERDUE,
            f"no exit on record {granted} (by {grant.by}); the deadline {grant.deadline} "
            f"passed {days} days before {as_of}",
            None,
        )
    return (
        DepartureState.PENDING,
        f"no exit on record yet {granted} (by {grant.by}); the deadline is {grant.deadline}",
        None,
    )


def _when(on: dt.date, deadline: dt.date) -> str:
    if on <= deadline:
        return f"on {on}, within the deadline {deadline}"
    return f"on {on}: left late, {(on - deadline).days} days after the deadline {deadline}"


def _namesake_exit(
    person_id: str,
    identity: _Identity,
    exits_by_name: dict[tuple[str, str], list[_ExitRecord]],
    since: dt.date,
) -> tuple[_ExitRecord, str, int] | None:
    """The first exit since the grant of someone else with the person's best name (either
    order) whose date of birth matches one of the person's or is missing; how the date of
    birth compares; how many more such exits there are."""
    if identity.given_name is None or identity.family_name is None:
        return None
    candidates = exits_by_name.get((identity.given_name, identity.family_name), [])
    matching = [
        e
        for e in candidates
        if e.person_id != person_id
        and e.on >= since
        and (e.date_of_birth is None or e.date_of_birth in identity.dates_of_birth)
    ]
    if not matching:
        return None
    first = min(matching, key=lambda e: (e.on, e.record_id))
    if first.date_of_birth is None:
        birth = "no date of birth on the exit record"
    else:
        birth = f"the same date of birth {first.date_of_birth}"
    return first, birth, len(matching) - 1


def _court_grants(status: PersonStatus | None) -> Iterator[_Grant]:
    for evidence in status.evidence if status else []:
        if evidence.term is StatusTerm.VOLUNTARY_DEPARTURE and evidence.deadline is not None:
            yield _Grant(evidence.on, evidence.deadline, f"{evidence.source} record "
                         f"{evidence.record_id}")  # fmt: skip


def _granted_in_court(session: Session) -> set[str]:
    """Persons with a court record granting voluntary departure."""
    return set(
        session.scalars(
            select(PersonRecord.person_id)
            .join(SourceRecord, SourceRecord.record_id == PersonRecord.record_id)
            .where(
                SourceRecord.source == "court",
                SourceRecord.extra["outcome"].as_string() == GRANTED_IN_COURT,
            )
            .distinct()
        )
    )


def _granted_by_cases(session: Session) -> dict[str, list[_Grant]]:
    """Cases in state voluntary_departure, by person, with the day the step granted it."""
    granted_at = dict(
        session.execute(
            select(CaseTransition.case_id, CaseTransition.occurred_at)
            .join(Case, Case.id == CaseTransition.case_id)
            .where(
                Case.state == State.VOLUNTARY_DEPARTURE.value, CaseTransition.action == GRANT_STEP
            )
            .order_by(CaseTransition.id)
        ).all()
    )
    grants: dict[str, list[_Grant]] = defaultdict(list)
    for case_id, person_id, deadline in session.execute(
        select(Case.id, Case.person_id, Case.deadline).where(
            Case.state == State.VOLUNTARY_DEPARTURE.value, Case.deadline.is_not(None)
        )
    ):
        at = granted_at.get(case_id)
        if deadline is None:
            continue
        grants[person_id].append(
            _Grant(at.date() if at else None, deadline, f"case {case_id}", case_id)
        )
    return grants


def _persons(session: Session, person_ids: Sequence[str]) -> dict[str, tuple[str, float | None]]:
    found: dict[str, tuple[str, float | None]] = {}
    for chunk in _chunks(person_ids):
        for person_id, name, assurance in session.execute(
            select(Person.person_id, Person.display_name, Person.assurance).where(
                Person.person_id.in_(chunk)
            )
        ):
            found[person_id] = (name, assurance)
    return found


def _identities(session: Session, person_ids: Sequence[str]) -> dict[str, _Identity]:
    """Per person the best name (the given and family name most of its records state, ties
    to the first in order, as the profile ranks it) and every date of birth on its records."""
    names: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    births: dict[str, set[dt.date]] = defaultdict(set)
    for r in record_identities(session, person_ids):
        if r.given and r.family:
            names[r.person_id][(r.given, r.family)] += 1
        if r.born is not None:
            births[r.person_id].add(r.born)
    identities: dict[str, _Identity] = {}
    for person_id in person_ids:
        counted = names.get(person_id)
        best = (
            min(counted.items(), key=lambda item: (-item[1], f"{item[0][0]} {item[0][1]}"))[0]
            if counted
            else (None, None)
        )
        identities[person_id] = _Identity(best[0], best[1], frozenset(births.get(person_id, ())))
    return identities


def _exits_by_name(
    session: Session, identities: Iterable[_Identity], as_of: dt.date
) -> dict[tuple[str, str], list[_ExitRecord]]:
    """Exit records dated by ``as_of`` that bear one of the names, under (given, family); a
    record written family name first is filed under the name in the usual order too."""
    wanted = {(i.given_name, i.family_name) for i in identities if i.given_name and i.family_name}
    if not wanted:
        return {}
    parts = sorted({part for name in wanted for part in name})
    found: dict[tuple[str, str], list[_ExitRecord]] = defaultdict(list)
    for chunk in _chunks(parts):
        rows = session.execute(
            select(
                SourceRecord.record_id,
                SourceRecord.observed_on,
                SourceRecord.given_name,
                SourceRecord.family_name,
                SourceRecord.date_of_birth,
                PersonRecord.person_id,
            )
            .outerjoin(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
            .where(
                SourceRecord.source == "entry_exit",
                SourceRecord.family_name.in_(chunk),
                SourceRecord.extra["event_type"].as_string() == "EXIT",
                SourceRecord.observed_on <= as_of,
            )
        )
        for record_id, on, given, family, born, person_id in rows:
            if on is None or given is None or family is None:
                continue
            record = _ExitRecord(record_id, on, given, family, born, person_id)
            for name in {(given, family), (family, given)} & wanted:
                found[name].append(record)
    return found


def _cases_on(session: Session, person_ids: Sequence[str]) -> dict[str, int]:
    """Per person a case on them: an open one if any, else the most recent."""
    open_states = {s.value for s in State if s not in OUTCOMES}
    chosen: dict[str, tuple[bool, int]] = {}
    for chunk in _chunks(person_ids):
        for case_id, person_id, state in session.execute(
            select(Case.id, Case.person_id, Case.state).where(Case.person_id.in_(chunk))
        ):
            rank = (state in open_states, case_id)
            if person_id not in chosen or rank > chosen[person_id]:
                chosen[person_id] = rank
    return {person_id: rank[1] for person_id, rank in chosen.items()}


def _wanted_state(state: str | None) -> DepartureState | None:
    if state is None or state == "":
        return None
    try:
        return DepartureState(state)
    except ValueError:
        known = ", ".join(s.value for s in DepartureState)
        raise InputError(f"{state!r} is not a departure state ({known})", where="state") from None


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])
