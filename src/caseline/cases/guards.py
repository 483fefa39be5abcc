"""The guards a case's steps must pass, evaluated on the server from what the records say now.

Each result names the guard, whether it passed, why, and what would clear it. The facts a
guard looks at are gathered once per case (:func:`gather_facts`), so listing a case's next
steps evaluates every guard of every step against one snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from caseline.cases.grounds import Grounds, assess_grounds, cited_records
from caseline.cases.lead_cache import ComputedLists
from caseline.cases.workflow import Field, Guard
from caseline.config import Settings
from caseline.db.models import (
    AuditEvent,
    Case,
    CaseTransition,
    Dispute,
    LinkDecision,
    Person,
    PersonEvent,
    PersonRecord,
    RetentionFlag,
)
from caseline.oversight import Actor, CaseThresholdsChanged, permit
from caseline.profiles import (
    PersonAddresses,
    PersonStatus,
    in_country_since,
    person_addresses,
    person_status,
)
from caseline.profiles.profile import kept_profile
from caseline.profiles.record_identities import record_identities
from caseline.profiles.status_evidence import load_status_records
from caseline.profiles.status_nearby import NearbyStatus, possible_status_matches

CONFIRMING = ("confirm_identity", "reconfirm_identity")
# What the records say of each person a case names (status, possible matches, addresses,
# changes, ...), kept per database, day and data version (what leads are kept under, less
# the cases: records, persons, disputes, link decisions, retention), so that a case read or
# stepped on again with nothing changed reads and scores none of it again.
RECORDED_PERSONS = ComputedLists(kept=256)


@dataclass(frozen=True, slots=True)
class Thresholds:
    identity: float  # identity assurance at or above which a person may be acted on
    address: float  # current-residence probability at or above which an address may be

    @classmethod
    def of(cls, settings: Settings) -> Thresholds:
        return cls(settings.identity_threshold, settings.address_threshold)


@dataclass(frozen=True, slots=True)
class GuardResult:
    guard: Guard
    passed: bool
    why: str
    clears_by: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "guard": self.guard.value,
            "passed": self.passed,
            "why": self.why,
            "clears_by": self.clears_by,
        }


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the guards look at, read once: the person as resolution and the records see it."""

    person_exists: bool
    assurance: float | None
    status: PersonStatus
    nearby: tuple[NearbyStatus, ...]  # stopping status records of possible matches
    grounds: Grounds
    cleared: frozenset[str]  # records a legal reviewer has cleared (status, doubted grounds)
    addresses: PersonAddresses
    confirmed_at: dt.datetime | None  # the latest identity confirmation
    confirmed_by: str | None
    changed_at: dt.datetime | None  # the latest merge, split or link decision on the person
    changes: tuple[str, ...]  # those changes since the confirmation, described
    seen: Mapping[str, dt.datetime]  # who read the person on this case, and when last
    proposer: str | None  # who proposed the action now awaiting approval
    thresholds: Thresholds
    as_of: dt.date
    # Every merge, split, link decision, dispute and purge on the person, and when.
    change_times: tuple[tuple[dt.datetime, str], ...] = ()


@dataclass(frozen=True, slots=True)
class RecordedPerson:
    """What the records say of a case's person on a day: the part of the facts no step of
    the case changes, kept per data version (:data:`RECORDED_PERSONS`)."""

    exists: bool
    assurance: float | None
    status: PersonStatus
    nearby: tuple[NearbyStatus, ...]
    records: frozenset[str]  # the person's own records
    births: Mapping[str, dt.date]  # record -> the date of birth it gives
    in_country_since: dt.date | None
    addresses: PersonAddresses
    change_times: tuple[tuple[dt.datetime, str], ...]


def note_thresholds(session: Session, actor: Actor, thresholds: Thresholds) -> None:
    """Audit the thresholds the first time they take effect with values other than the last
    ones noted, so that a change of settings is on the trail with who first acted under it."""
    last = session.scalars(
        select(AuditEvent.details)
        .where(AuditEvent.action == CaseThresholdsChanged.action)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    before = (last or {}).get("identity"), (last or {}).get("address")
    if before != (thresholds.identity, thresholds.address):
        permit(actor, CaseThresholdsChanged).record(
            session,
            CaseThresholdsChanged(
                identity=thresholds.identity,
                address=thresholds.address,
                previous_identity=before[0],
                previous_address=before[1],
            ),
        )


def gather_facts(
    session: Session,
    case: Case,
    thresholds: Thresholds,
    as_of: dt.date,
    steps: Sequence[CaseTransition] | None = None,
) -> CaseFacts:
    """The facts the guards look at now; ``steps``: the case's steps, oldest first, when the
    caller has read them already."""
    if steps is None:
        steps = session.scalars(
            select(CaseTransition)
            .where(CaseTransition.case_id == case.id)
            .order_by(CaseTransition.id)
        ).all()
    person = recorded_person(session, case.person_id, as_of)
    reads = session.execute(
        select(AuditEvent.actor, AuditEvent.occurred_at).where(
            AuditEvent.case_id == str(case.id),
            AuditEvent.action == "read_person",
            AuditEvent.object_id == case.person_id,
        )
    ).all()
    seen: dict[str, dt.datetime] = {}
    for actor, at in reads:
        seen[actor] = max(seen.get(actor, _utc(at)), _utc(at))
    return CaseFacts(
        person_exists=person.exists,
        assurance=person.assurance,
        status=person.status,
        nearby=person.nearby,
        grounds=assess_grounds(
            person.status,
            cited_records(case.origin or {}),
            person.records,
            person.births,
            person.in_country_since,
        ),
        addresses=person.addresses,
        seen=seen,
        thresholds=thresholds,
        as_of=as_of,
        change_times=person.change_times,
        **_from_steps(steps, person.change_times),
    )


def after_step(facts: CaseFacts, steps: Sequence[CaseTransition]) -> CaseFacts:
    """The facts once a step is taken (``steps``: the case's steps now, oldest first): what
    the steps say read again; what the records say of the person, and who read it on the
    case, are as before, since a step changes neither."""
    return replace(facts, **_from_steps(steps, facts.change_times))


def _from_steps(
    steps: Sequence[CaseTransition], change_times: Sequence[tuple[dt.datetime, str]]
) -> dict[str, Any]:
    """What a case's steps say: the latest confirmation and the changes since, the records
    a legal reviewer cleared, who proposed the action."""
    confirmations = [s for s in steps if s.action in CONFIRMING]
    confirmed_at = _utc(confirmations[-1].occurred_at) if confirmations else None
    proposals = [s for s in steps if s.action == "propose_action"]
    return {
        "cleared": frozenset(
            record
            for s in steps
            if s.action == "clear_status"
            for record in s.fields.get("cleared", ())
        ),
        "confirmed_at": confirmed_at,
        "confirmed_by": confirmations[-1].actor if confirmations else None,
        "changed_at": max((at for at, _ in change_times), default=None),
        "changes": (
            tuple(what for at, what in change_times if at > confirmed_at)
            if confirmed_at is not None
            else ()
        ),
        "proposer": proposals[-1].actor if proposals else None,
    }


def recorded_person(session: Session, person_id: str, as_of: dt.date) -> RecordedPerson:
    """What the records say of the person on ``as_of``, read and scored once per data
    version (:data:`RECORDED_PERSONS`)."""
    (found,) = RECORDED_PERSONS.get(
        session,
        "recorded person",
        as_of,
        person_id,
        lambda: [_read_recorded_person(session, person_id, as_of)],
        reads_cases=False,
    )
    return found


def _read_recorded_person(session: Session, person_id: str, as_of: dt.date) -> RecordedPerson:
    person = session.get(Person, person_id)
    if person is not None:  # the status and addresses its profile shows, kept with it
        profile = kept_profile(session, person_id, as_of)
        assert profile.status is not None
        assert profile.addresses is not None
        status, addresses = profile.status, profile.addresses
    else:
        status = person_status(load_status_records(session, [person_id]), as_of)
        addresses = person_addresses(session, person_id, as_of, status=status)
    records = list(record_identities(session, [person_id]))  # one read for both
    return RecordedPerson(
        exists=person is not None,
        assurance=person.assurance if person is not None else None,
        status=status,
        nearby=tuple(possible_status_matches(session, [person_id], as_of).get(person_id, ())),
        records=frozenset(r.record_id for r in records),
        births={r.record_id: r.born for r in records if r.born is not None},
        in_country_since=in_country_since(session, [person_id]).get(person_id),
        addresses=addresses,
        change_times=tuple(_changes(session, person_id)),
    )


def evaluate(
    guard: Guard, facts: CaseFacts, actor: Actor, fields: Mapping[str, str], case: Case
) -> GuardResult:
    return _GUARDS[guard](facts, actor, fields, case)


def _identity_assurance(
    facts: CaseFacts, _actor: Actor, _fields: Mapping[str, str], case: Case
) -> GuardResult:
    guard = Guard.IDENTITY_ASSURANCE
    if not facts.person_exists:
        return GuardResult(
            guard, False, f"person {case.person_id} no longer exists: a resolution run "
            "merged or split its records, or a retention purge removed the last of them",
            "close the case and open one on the person the records now belong to, if any",
        )  # fmt: skip
    needed = facts.thresholds.identity
    if facts.assurance is None or facts.assurance < needed:
        shown = "none" if facts.assurance is None else f"{facts.assurance:.3f}"
        return GuardResult(
            guard, False, f"identity assurance {shown} is below {needed}",
            "a reviewer's link decisions and a new resolution run that raise the assurance",
        )  # fmt: skip
    return GuardResult(guard, True, f"identity assurance {facts.assurance:.3f} >= {needed}")


def _identity_seen(
    facts: CaseFacts, actor: Actor, _fields: Mapping[str, str], _case: Case
) -> GuardResult:
    guard = Guard.IDENTITY_SEEN
    read_at = facts.seen.get(actor.username)
    if read_at is None:
        return GuardResult(
            guard, False, f"{actor.username} has not read the person's records on this case",
            "open the person's profile from the case, with its records and links",
        )  # fmt: skip
    if facts.changed_at is not None and read_at < facts.changed_at:
        return GuardResult(
            guard, False, "the person's records changed after they were last read on this case",
            "read the profile again from the case",
        )  # fmt: skip
    return GuardResult(guard, True, f"{actor.username} read the records on this case")


def _identity_confirmed(
    facts: CaseFacts, _actor: Actor, _fields: Mapping[str, str], case: Case
) -> GuardResult:
    guard = Guard.IDENTITY_CONFIRMED
    if not facts.person_exists:
        return _identity_assurance(facts, _actor, _fields, case)
    if facts.confirmed_at is None:
        return GuardResult(guard, False, "no analyst has confirmed the identity",
                           "confirm_identity")  # fmt: skip
    if facts.changes:
        return GuardResult(
            guard, False, "resolution changed the person since the identity was confirmed: "
            + "; ".join(facts.changes), "reconfirm_identity after reading the profile again",
        )  # fmt: skip
    if facts.assurance is None or facts.assurance < facts.thresholds.identity:
        return _identity_assurance(facts, _actor, _fields, case)
    return GuardResult(guard, True, f"confirmed by {facts.confirmed_by}, unchanged since")


def _status_clear(
    facts: CaseFacts, _actor: Actor, _fields: Mapping[str, str], _case: Case
) -> GuardResult:
    guard = Guard.STATUS_CLEAR
    open_stops = [
        f"{e.term.value} ({e.source} record {e.record_id}, {e.stated}, {e.on or 'undated'})"
        for e in facts.status.stopping
        if e.record_id not in facts.cleared
    ] + [n.describe() for n in facts.nearby if n.evidence.record_id not in facts.cleared]
    if open_stops:
        more = f" and {len(open_stops) - 5} more" if len(open_stops) > 5 else ""
        return GuardResult(
            guard, False, f"status stop: {'; '.join(open_stops[:5])}{more}",
            "a legal reviewer's clear_status with a reason, or terminate",
        )  # fmt: skip
    cleared = len(facts.cleared & stopping_records(facts))
    why = f"{cleared} status records cleared by legal review" if cleared else "no status stop"
    return GuardResult(guard, True, why)


def stopping_records(facts: CaseFacts) -> set[str]:
    """The records a legal reviewer's clear_status clears: the person's stopping status
    evidence, that of possible matches, and the grounds whose date of birth is in doubt."""
    return (
        {e.record_id for e in facts.status.stopping}
        | {n.evidence.record_id for n in facts.nearby}
        | {d.record_id for d in facts.grounds.doubted}
    )


def _grounds(
    facts: CaseFacts, _actor: Actor, _fields: Mapping[str, str], _case: Case
) -> GuardResult:
    guard = Guard.GROUNDS
    grounds = facts.grounds
    if grounds.cited_elsewhere:
        return GuardResult(
            guard, False, "the records this case was opened on are not the person's: "
            f"{', '.join(grounds.cited_elsewhere)} belong to another person or were purged "
            "under retention",
            "close this case and work the lead on the person whose records they are, if any",
        )  # fmt: skip
    if not grounds.found:
        return GuardResult(
            guard, False, f"no lead rule finds grounds on the person's own records on "
            f"{facts.as_of}", "records of the person that show a final order, an ended stay "
            "or a passed departure deadline",
        )  # fmt: skip
    doubted = [d for d in grounds.doubted if d.record_id not in facts.cleared]
    if doubted:
        return GuardResult(
            guard, False, "the grounds may be a namesake's: "
            + "; ".join(d.describe() for d in doubted),
            "a legal reviewer's clear_status after checking the record is the person's",
        )  # fmt: skip
    return GuardResult(guard, True, "; ".join(grounds.found))


def _address_confident(
    facts: CaseFacts, _actor: Actor, fields: Mapping[str, str], case: Case
) -> GuardResult:
    guard = Guard.ADDRESS_CONFIDENT
    wanted = fields.get(Field.ADDRESS) or case.address
    needed = facts.thresholds.address
    if not wanted:
        best = facts.addresses.addresses[0] if facts.addresses.addresses else None
        hint = f" (the likeliest is {best.address} at {best.probability:.2f})" if best else ""
        return GuardResult(guard, False, f"no address chosen{hint}", "choose an address")
    found = next((a for a in facts.addresses.addresses if a.address == wanted), None)
    if found is None:
        return GuardResult(guard, False, f"{wanted!r} is not one of the person's addresses",
                           "choose one of the addresses the profile lists")  # fmt: skip
    if found.lead:
        return GuardResult(guard, False, f"{wanted} is known only from another person's records",
                           "choose an address of the person's own records")  # fmt: skip
    departed = facts.status.departed_on
    if departed is not None and departed >= found.last_seen:
        return GuardResult(
            guard, False, f"an exit on {departed} is the latest record: the person left after "
            f"last being seen at {wanted}", "a record of the person at an address since then",
        )  # fmt: skip
    if found.probability < needed:
        return GuardResult(
            guard, False, f"{wanted} is the current residence with probability "
            f"{found.probability:.2f} on {facts.as_of}, below {needed}",
            "newer records at the address, or another address",
        )  # fmt: skip
    return GuardResult(
        guard, True, f"{wanted}: probability {found.probability:.2f} on {facts.as_of}"
    )


def _two_people(
    facts: CaseFacts, actor: Actor, _fields: Mapping[str, str], _case: Case
) -> GuardResult:
    guard = Guard.TWO_PEOPLE
    if facts.proposer is not None and facts.proposer == actor.username:
        return GuardResult(guard, False, f"{actor.username} proposed this action",
                           "approval by another supervisor")  # fmt: skip
    return GuardResult(guard, True, f"proposed by {facts.proposer}, approved by another")


_GUARDS: dict[Guard, Callable[[CaseFacts, Actor, Mapping[str, str], Case], GuardResult]] = {
    Guard.IDENTITY_ASSURANCE: _identity_assurance,
    Guard.IDENTITY_SEEN: _identity_seen,
    Guard.IDENTITY_CONFIRMED: _identity_confirmed,
    Guard.GROUNDS: _grounds,
    Guard.STATUS_CLEAR: _status_clear,
    Guard.ADDRESS_CONFIDENT: _address_confident,
    Guard.TWO_PEOPLE: _two_people,
}


def _changes(session: Session, person_id: str) -> list[tuple[dt.datetime, str]]:
    """Merges, splits, link decisions and disputes that touched the person, and when."""
    mentioned = cast(PersonEvent.related_person_ids, String).contains(person_id, autoescape=True)
    found = [
        (_utc(e.occurred_at), f"{e.kind} in resolution run {e.resolution_run_id}")
        for e in session.scalars(
            select(PersonEvent).where(or_(PersonEvent.person_id == person_id, mentioned))
        )
        if person_id == e.person_id or person_id in e.related_person_ids.get("persons", ())
    ]
    records = select(PersonRecord.record_id).where(PersonRecord.person_id == person_id)
    for decision in session.scalars(
        select(LinkDecision).where(
            or_(LinkDecision.left_record_id.in_(records), LinkDecision.right_record_id.in_(records))
        )
    ):
        found.append(
            (_utc(decision.decided_at),
             f"{decision.decision} decided by {decision.decided_by} on records "
             f"{decision.left_record_id} and {decision.right_record_id}")
        )  # fmt: skip
    # A dispute filed or decided on the person's records changes what the case rests on.
    for dispute in session.scalars(
        select(Dispute).where(or_(Dispute.person_id == person_id, Dispute.record_id.in_(records)))
    ):
        found.append((_utc(dispute.filed_at), f"dispute {dispute.id} ({dispute.kind}) filed "
                      f"by {dispute.filed_by} on record {dispute.record_id}"))  # fmt: skip
        if dispute.decided_at is not None:
            found.append((_utc(dispute.decided_at), f"dispute {dispute.id} {dispute.state}"))
    # A retention purge that took some of the person's records changes what they rest on.
    for run_id, applied_at, lost in session.execute(
        select(RetentionFlag.run_id, func.min(RetentionFlag.applied_at),
               func.max(RetentionFlag.records_lost))
        .where(RetentionFlag.person_id == person_id)
        .group_by(RetentionFlag.run_id)
    ):  # fmt: skip
        found.append((_utc(applied_at), f"{lost} records purged under retention (run {run_id})"))
    return sorted(found)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
