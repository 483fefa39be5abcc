"""The single audit writer: append-only, hash-chained events in the caller's transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from caseline.db.models import AuditEvent
from caseline.oversight.access import Actor, Permission, authorize

GENESIS_HASH = "0" * 64
_CHAIN_LOCK_ID = 0x6361_7365  # PostgreSQL advisory lock serialising appends to the chain


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What happened: who (actor, role) did what (action) to which object, and why."""

    actor: str
    role: str
    action: str
    object_type: str
    object_id: str | None = None
    purpose: str | None = None
    case_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def by(cls, actor: Actor, action: str, object_type: str, **fields: Any) -> AuditEntry:
        """An entry for what ``actor`` did (name and role taken from the actor)."""
        return cls(
            actor=actor.username, role=actor.role, action=action, object_type=object_type, **fields
        )


@dataclass(frozen=True, slots=True)
class ChainReport:
    events_checked: int
    first_broken_seq: int | None
    reason: str | None

    @property
    def intact(self) -> bool:
        return self.first_broken_seq is None


def record_event(session: Session, entry: AuditEntry) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction.

    If the caller's change rolls back, so does its audit event: the trail never claims a
    change that did not happen, and no change happens without its event.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CHAIN_LOCK_ID})
    previous = session.scalars(
        select(AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    occurred_at = dt.datetime.now(dt.UTC)
    prev_hash = previous or GENESIS_HASH
    event = AuditEvent(
        occurred_at=occurred_at,
        actor=entry.actor,
        role=entry.role,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        purpose=entry.purpose,
        case_id=entry.case_id,
        details=entry.details,
        prev_hash=prev_hash,
        hash=_event_hash(prev_hash, entry, occurred_at),
    )
    session.add(event)
    session.flush()
    return event


def verify_audit_trail(session: Session, *, actor: Actor) -> ChainReport:
    """The chain's report, for an actor whose role may verify it."""
    authorize(actor, Permission.VERIFY_AUDIT)
    return verify_chain(session)


def verify_chain(session: Session) -> ChainReport:
    """Recompute every hash in order; report the first event that was altered or removed."""
    expected_prev = GENESIS_HASH
    checked = 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
        checked += 1
        if event.prev_hash != expected_prev:
            return ChainReport(checked, event.seq, "predecessor missing or altered")
        entry = AuditEntry(
            actor=event.actor,
            role=event.role,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            purpose=event.purpose,
            case_id=event.case_id,
            details=event.details,
        )
        if _event_hash(event.prev_hash, entry, event.occurred_at) != event.hash:
            return ChainReport(checked, event.seq, "event content does not match its hash")
        expected_prev = event.hash
    return ChainReport(checked, None, None)


def _event_hash(prev_hash: str, entry: AuditEntry, occurred_at: dt.datetime) -> str:
    # SQLite returns naive datetimes; hash the UTC instant so both databases agree.
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=dt.UTC)
    payload = json.dumps(
        {
            "prev": prev_hash,
            "at": occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor": entry.actor,
            "role": entry.role,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "purpose": entry.purpose,
            "case_id": entry.case_id,
            "details": entry.details,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()
