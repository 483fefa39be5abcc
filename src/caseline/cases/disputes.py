"""Disputes and redress: a legal representative files a dispute about one of a person's
records, another reviews it, and an upheld dispute adds new facts without deleting any.

States: ``filed`` -> ``under_review`` -> ``upheld`` | ``rejected``. The reviewer is never
who filed it. While a dispute is open its record leaves every score (read by profiles from
the disputes table, :mod:`caseline.profiles.disputed`); filing and deciding it touch the
person, so the person's open cases must have the identity re-confirmed (:mod:`guards`).

What upholding adds, by kind:

- ``not_me``: a cannot-link between the record and each other record of the person, by the
  reviewer: the next resolution run moves it out; the profile drops it at once;
- ``not_my_address``: the address marked not the person's: no score of theirs uses it;
- ``status``: a status record (source ``correction``) with the document it rests on, linked
  to the person by a must-link so that every later run keeps it with them;
- ``value``: the corrected value, kept beside the record, which still says what its source
  said.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.cases.workflow import OUTCOMES
from caseline.db.models import (
    Case,
    Dispute,
    IngestRun,
    LinkDecision,
    PersonRecord,
    SourceRecord,
    utcnow,
)
from caseline.errors import AccessDenied, ConflictError, InputError, NotFoundError
from caseline.oversight import Actor, permit
from caseline.oversight.dispute_events import (
    DisputeDecided,
    DisputeFiled,
    DisputeRead,
    DisputeReviewStarted,
    DisputesListed,
)
from caseline.profiles.address_evidence import address_key
from caseline.profiles.disputed import CORRECTABLE, OPEN_STATES, DisputeKind, DisputeState
from caseline.sources.base import record_id_for
from caseline.standardise.status import StatusTerm

MIN_TEXT_LENGTH = 10  # grounds and reasons: a sentence, not a word
CORRECTION_SOURCE = "correction"


@dataclass(frozen=True, slots=True)
class DisputeSummary:
    id: int
    person_id: str
    record_id: str
    record_source: str
    kind: DisputeKind
    state: DisputeState
    grounds: str
    document: str | None
    field: str | None
    claimed_value: str | None
    filed_by: str
    filed_at: dt.datetime
    reviewer: str | None
    review_started_at: dt.datetime | None
    decided_at: dt.datetime | None
    reason: str | None
    effect: dict[str, Any]
    open_cases: tuple[int, ...]  # the person's open cases, flagged for re-checking

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES


def file_dispute(
    session: Session,
    actor: Actor,
    *,
    person_id: str,
    record_id: str,
    kind: DisputeKind | str,
    grounds: str,
    document: str | None = None,
    field: str | None = None,
    value: str | None = None,
) -> DisputeSummary:
    """File a dispute about one of a person's records (audited in the caller's transaction).

    A status dispute names the status the document shows (a :class:`StatusTerm`) and the
    document; a value dispute names the field and its right value."""
    allowed = permit(actor, DisputeFiled)
    kind = _kind(kind)
    grounds = _text(grounds, "grounds")
    document = (document or "").strip() or None
    held = session.scalar(select(PersonRecord.person_id).where(PersonRecord.record_id == record_id))
    record = session.get(SourceRecord, record_id)
    if record is None or held != person_id:
        raise NotFoundError(f"person {person_id!r} holds no record {record_id!r}")
    field, value = _claim(kind, record, document, field, value)
    open_already = session.scalar(
        select(Dispute.id).where(
            Dispute.record_id == record_id,
            Dispute.kind == kind.value,
            Dispute.state.in_(OPEN_STATES),
        )
    )
    if open_already is not None:
        raise ConflictError(
            f"dispute {open_already} about this record is already open",
            details={"dispute": open_already},
        )
    row = Dispute(
        person_id=person_id,
        record_id=record_id,
        kind=kind.value,
        state=DisputeState.FILED.value,
        grounds=grounds,
        document=document,
        field=field,
        claimed_value=value,
        filed_by=actor.username,
        effect={},
    )
    session.add(row)
    session.flush()
    cases = _open_cases(session, person_id)
    allowed.record(
        session,
        DisputeFiled(
            dispute_id=row.id,
            person_id=person_id,
            record_id=record_id,
            kind=kind.value,
            document=document,
            cases_flagged=cases,
        ),
    )
    return _summary(row, record.source, cases)


def list_disputes(
    session: Session,
    actor: Actor,
    *,
    state: DisputeState | str | None = None,
    person_id: str | None = None,
) -> list[DisputeSummary]:
    """Disputes, newest first: all, or in one state, or on one person (audited)."""
    allowed = permit(actor, DisputesListed)
    wanted = DisputeState(state) if state else None
    query = select(Dispute, SourceRecord.source).join(
        SourceRecord, SourceRecord.record_id == Dispute.record_id
    )
    if wanted is not None:
        query = query.where(Dispute.state == wanted.value)
    if person_id:
        query = query.where(Dispute.person_id == person_id)
    rows = session.execute(query.order_by(Dispute.id.desc())).all()
    found = [_summary(row, source, ()) for row, source in rows]
    allowed.record(
        session,
        DisputesListed(
            state=wanted.value if wanted else None,
            disputes=tuple(d.id for d in found),
            persons=tuple(sorted({d.person_id for d in found})),
        ),
    )
    return found


def read_dispute(session: Session, actor: Actor, dispute_id: int) -> DisputeSummary:
    """One dispute with the person's open cases (audited)."""
    allowed = permit(actor, DisputeRead)
    row, source = _load(session, dispute_id)
    allowed.record(
        session,
        DisputeRead(dispute_id=row.id, person_id=row.person_id, record_id=row.record_id),
    )
    return _summary(row, source, _open_cases(session, row.person_id))


def start_review(session: Session, actor: Actor, dispute_id: int) -> DisputeSummary:
    """Take a filed dispute up for review; never one's own."""
    allowed = permit(actor, DisputeReviewStarted)
    row, source = _load(session, dispute_id)
    if row.filed_by == actor.username:
        raise AccessDenied(f"{actor.username} filed dispute {row.id}: another must review it")
    if row.state != DisputeState.FILED:
        raise ConflictError(f"dispute {row.id} is {row.state}, not filed", details=_state(row))
    row.state = DisputeState.UNDER_REVIEW.value
    row.reviewer = actor.username
    row.review_started_at = utcnow()
    allowed.record(session, DisputeReviewStarted(dispute_id=row.id, person_id=row.person_id))
    return _summary(row, source, _open_cases(session, row.person_id))


def decide_dispute(
    session: Session, actor: Actor, dispute_id: int, *, uphold: bool, reason: str
) -> DisputeSummary:
    """Uphold or reject a dispute under review, as its reviewer, with a reason. Upholding
    adds the new facts the dispute asks for, in the same transaction."""
    allowed = permit(actor, DisputeDecided)
    reason = _text(reason, "reason")
    row, source = _load(session, dispute_id)
    if row.filed_by == actor.username:
        raise AccessDenied(f"{actor.username} filed dispute {row.id}: another must decide it")
    if row.state != DisputeState.UNDER_REVIEW:
        raise ConflictError(
            f"dispute {row.id} is {row.state}: take it up for review first", details=_state(row)
        )
    if row.reviewer != actor.username:
        raise AccessDenied(f"dispute {row.id} is under review by {row.reviewer}")
    row.state = (DisputeState.UPHELD if uphold else DisputeState.REJECTED).value
    row.decided_at = utcnow()
    row.reason = reason
    row.effect = _apply(session, row, actor) if uphold else {}
    cases = _open_cases(session, row.person_id)
    allowed.record(
        session,
        DisputeDecided(
            dispute_id=row.id,
            person_id=row.person_id,
            record_id=row.record_id,
            decision=row.state,
            reason=reason,
            effect=row.effect,
            cases_flagged=cases,
        ),
    )
    return _summary(row, source, cases)


def _apply(session: Session, dispute: Dispute, actor: Actor) -> dict[str, Any]:
    """Add what an upheld dispute asks for, as new facts beside the record."""
    record = session.get(SourceRecord, dispute.record_id)
    assert record is not None
    why = f"dispute {dispute.id} upheld: {dispute.reason}"
    kind = DisputeKind(dispute.kind)
    if kind is DisputeKind.NOT_ME:
        others = session.scalars(
            select(PersonRecord.record_id).where(
                PersonRecord.person_id == dispute.person_id,
                PersonRecord.record_id != record.record_id,
            )
        ).all()
        for other in sorted(others):
            left, right = sorted((record.record_id, other))
            session.add(
                LinkDecision(left_record_id=left, right_record_id=right,
                             decision="different_persons", reason=why,
                             decided_by=actor.username)
            )  # fmt: skip
        return {"cannot_link": len(others)}
    if kind is DisputeKind.NOT_MY_ADDRESS:
        key = address_key(record.street_number, record.street, record.unit, record.postcode)
        return {"address_key": key, "address": record.address_raw}
    if kind is DisputeKind.STATUS:
        added = _status_record(session, dispute, record, actor, why)
        return {"record_added": added, "status": dispute.claimed_value}
    return {"field": dispute.field, "was": _as_text(getattr(record, dispute.field or "")),
            "now": dispute.claimed_value}  # fmt: skip


def _status_record(
    session: Session, dispute: Dispute, disputed: SourceRecord, actor: Actor, why: str
) -> str:
    """A new status record, from the document, placed with the person and must-linked to
    the record disputed so that every later resolution run keeps them together."""
    key = f"dispute:{dispute.id}"
    document = dispute.document or ""
    run = IngestRun(
        source=CORRECTION_SOURCE,
        file_name=f"dispute {dispute.id}: {document}"[:1024],
        file_sha256=hashlib.sha256(f"{key}\x1f{document}".encode()).hexdigest(),
        finished_at=utcnow(),
        loaded=1,
    )
    session.add(run)
    session.flush()
    record_id = record_id_for(CORRECTION_SOURCE, key)
    session.add(
        SourceRecord(
            record_id=record_id,
            source=CORRECTION_SOURCE,
            source_key=key,
            ingest_run_id=run.id,
            line_number=1,
            full_name_raw=disputed.full_name_raw,
            given_name=disputed.given_name,
            middle_name=disputed.middle_name,
            family_name=disputed.family_name,
            date_of_birth=disputed.date_of_birth,
            extra={
                "status": dispute.claimed_value,
                "status_stated": f"{dispute.claimed_value} per {document} (dispute {dispute.id})",
                "document": document,
                "dispute_id": dispute.id,
                "corrects": disputed.record_id,
                "decided_by": actor.username,
            },
        )
    )
    session.flush()
    session.add(PersonRecord(record_id=record_id, person_id=dispute.person_id))
    left, right = sorted((record_id, disputed.record_id))
    session.add(
        LinkDecision(left_record_id=left, right_record_id=right, decision="same_person",
                     reason=why, decided_by=actor.username)
    )  # fmt: skip
    return record_id


def _claim(
    kind: DisputeKind,
    record: SourceRecord,
    document: str | None,
    field: str | None,
    value: str | None,
) -> tuple[str | None, str | None]:
    """The field and value a dispute claims, checked against its kind."""
    value = (value or "").strip() or None
    if kind is DisputeKind.STATUS:
        if document is None:
            raise InputError("a status dispute names the document that shows it", where="document")
        if value not in {t.value for t in StatusTerm} or value == StatusTerm.UNCLEAR:
            known = ", ".join(t.value for t in StatusTerm if t is not StatusTerm.UNCLEAR)
            raise InputError(f"the status the document shows, one of: {known}", where="value")
        return None, value
    if kind is DisputeKind.VALUE:
        if field not in CORRECTABLE:
            raise InputError(f"a field, one of: {', '.join(CORRECTABLE)}", where="field")
        if value is None:
            raise InputError("the right value", where="value")
        if field == "date_of_birth":
            try:
                value = dt.date.fromisoformat(value).isoformat()
            except ValueError:
                raise InputError("a date as YYYY-MM-DD", where="value") from None
        return field, value.upper() if field != "date_of_birth" else value
    if kind is DisputeKind.NOT_MY_ADDRESS and not (record.street or record.postcode):
        raise InputError(f"record {record.record_id} gives no address", where="record_id")
    return None, None


def _kind(kind: DisputeKind | str) -> DisputeKind:
    try:
        return DisputeKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in DisputeKind)
        raise InputError(f"a kind of dispute, one of: {known}", where="kind") from None


def _text(text: str, where: str) -> str:
    stated = " ".join((text or "").split())
    if len(stated) < MIN_TEXT_LENGTH:
        raise InputError(f"at least {MIN_TEXT_LENGTH} characters", where=where)
    return stated


def _state(row: Dispute) -> dict[str, object]:
    return {"dispute": row.id, "state": row.state, "reviewer": row.reviewer}


def _as_text(value: object) -> str | None:
    return None if value is None else str(value)


def _load(session: Session, dispute_id: int) -> tuple[Dispute, str]:
    found = session.execute(
        select(Dispute, SourceRecord.source)
        .join(SourceRecord, SourceRecord.record_id == Dispute.record_id)
        .where(Dispute.id == dispute_id)
    ).first()
    if found is None:
        raise NotFoundError(f"no dispute {dispute_id}")
    return found[0], found[1]


def _open_cases(session: Session, person_id: str) -> tuple[int, ...]:
    return tuple(
        session.scalars(
            select(Case.id)
            .where(Case.person_id == person_id, Case.state.not_in([s.value for s in OUTCOMES]))
            .order_by(Case.id)
        )
    )


def _summary(row: Dispute, source: str, cases: tuple[int, ...]) -> DisputeSummary:
    return DisputeSummary(
        id=row.id,
        person_id=row.person_id,
        record_id=row.record_id,
        record_source=source,
        kind=DisputeKind(row.kind),
        state=DisputeState(row.state),
        grounds=row.grounds,
        document=row.document,
        field=row.field,
        claimed_value=row.claimed_value,
        filed_by=row.filed_by,
        filed_at=row.filed_at,
        reviewer=row.reviewer,
        review_started_at=row.review_started_at,
        decided_at=row.decided_at,
        reason=row.reason,
        effect=dict(row.effect or {}),
        open_cases=cases,
    )
