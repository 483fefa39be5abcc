"""The single audit writer: append-only, hash-chained events in the caller's transaction.

Each event is hashed with HMAC-SHA256 under a key kept outside the database
(:mod:`caseline.oversight.audit_keys`), over its content, its number and its predecessor's
hash: someone who can write to the database but not read the key cannot edit, insert,
remove or renumber an event and make the chain whole again. Events written before the trail
was keyed keep their plain SHA-256 hashes and are checked as they were made, but only up to
the newest one the key file names. Checkpoints of the chain's head, kept outside the
database (:mod:`caseline.oversight.audit_checkpoint`), find a cut tail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from caseline.db.models import AuditEvent
from caseline.db.session import defer_write
from caseline.errors import StateError
from caseline.oversight.access import Actor, Permission, authorize
from caseline.oversight.audit_checkpoint import Checkpoint, checkpoint_problem, take_checkpoint
from caseline.oversight.audit_keys import (
    GENESIS_HASH,
    KEYED_PREFIX,
    AuditKey,
    audit_key_path,
    create_key,
    is_keyed,
    read_key,
)

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "ChainReport",
    "checkpoint_audit_trail",
    "lock_chain",
    "record_event",
    "verify_audit_trail",
    "verify_chain",
    "writing_key",
]

_CHAIN_LOCK_ID = 0x6361_7365  # PostgreSQL advisory lock serialising appends to the chain
_KEYED_DIGITS = 64 - len(KEYED_PREFIX)  # the hash column holds 64 characters


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
    """What verifying found: how many events, and the first one that is wrong, and why."""

    events_checked: int
    first_broken_seq: int | None
    reason: str | None
    keyed_events: int = 0
    checkpoints_checked: int = 0

    @property
    def intact(self) -> bool:
        return self.first_broken_seq is None


def lock_chain(session: Session) -> None:
    """Hold the chain for this transaction (SQLite: its transactions begin immediately)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CHAIN_LOCK_ID})


def record_event(session: Session, entry: AuditEntry) -> AuditEvent | None:
    """Append one event to the chain inside the caller's transaction.

    If the caller's change rolls back, so does its audit event: the trail never claims a
    change that did not happen, and no change happens without its event.

    In a ``Database.reading()`` session on SQLite (work that only reads) the event is left
    for after the reads (None is returned): it is appended, in a short transaction that
    takes the write lock, before the reading block is left, and if that fails the block
    raises, so what was read is not returned; if the reads fail, it is never appended.
    """
    entry = _fitted(entry)
    if defer_write(session, partial(_append, entry=entry)):
        return None
    return _append(session, entry)


def _append(session: Session, entry: AuditEntry) -> AuditEvent:
    lock_chain(session)
    head = _head(session)
    key = writing_key(session, head)
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    occurred_at = dt.datetime.now(dt.UTC)
    event = AuditEvent(
        seq=seq,
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
        hash=_keyed_hash(key, seq, prev_hash, entry, occurred_at),
    )
    session.add(event)
    session.flush()
    return event


# The widest each text column holds; what a request names beyond it (a 65-character id) is
# kept cut, marked with "…", rather than failing the request it records.
_WIDTHS = {"actor": 64, "role": 32, "action": 64, "object_type": 32, "object_id": 64,
           "purpose": 256, "case_id": 32}  # fmt: skip


def _fitted(entry: AuditEntry) -> AuditEntry:
    cut: dict[str, Any] = {
        name: value[: width - 1] + "…"
        for name, width in _WIDTHS.items()
        if isinstance(value := getattr(entry, name), str) and len(value) > width
    }
    return replace(entry, **cut) if cut else entry


def writing_key(session: Session, head: tuple[int, str] | None = None) -> AuditKey:
    """The key new events are hashed with; made on first use, vouching for the unkeyed
    events before it. Refuses to go on if the trail is keyed and its key is gone, or if the
    key was made for another trail: appending then would make a chain no one can check."""
    path = audit_key_path(session)
    key = read_key(path)
    if key is None:
        if head is not None and is_keyed(head[1]):
            raise StateError(
                f"the audit trail is keyed but its key file {path} is missing: restore it "
                "(no event can be recorded, so nothing can change, until it is back)"
            )
        legacy_seq, legacy_hash = head or (0, GENESIS_HASH)
        return create_key(path, legacy_seq=legacy_seq, legacy_hash=legacy_hash)
    if head is not None and not is_keyed(head[1]) and head != (key.legacy_seq, key.legacy_hash):
        raise StateError(
            f"the audit key {path} was made for another trail: its newest unkeyed event is "
            f"{key.legacy_seq}, this trail's is {head[0]} (set CASELINE_AUDIT_KEY_FILE)"
        )
    return key


def checkpoint_audit_trail(session: Session, *, actor: Actor) -> Checkpoint:
    """The chain's head, signed, for an actor whose role may verify the trail; the caller
    keeps it outside the database."""
    authorize(actor, Permission.VERIFY_AUDIT)
    lock_chain(session)
    return take_checkpoint(session, writing_key(session, _head(session)))


def verify_audit_trail(
    session: Session, *, actor: Actor, checkpoints: Sequence[Checkpoint] = ()
) -> ChainReport:
    """The chain's report, for an actor whose role may verify it."""
    authorize(actor, Permission.VERIFY_AUDIT)
    return verify_chain(session, checkpoints=checkpoints)


def verify_chain(
    session: Session, *, checkpoints: Sequence[Checkpoint] = (), key_path: Path | None = None
) -> ChainReport:
    """Recompute every hash in order and compare the head with each checkpoint; report the
    first event that was altered, removed, inserted or renumbered, and why."""
    path = key_path or audit_key_path(session)
    walk = _ChainWalk(read_key(path), path, {c.seq for c in checkpoints})
    rows = session.execute(
        select(
            AuditEvent.seq,
            AuditEvent.occurred_at,
            AuditEvent.actor,
            AuditEvent.role,
            AuditEvent.action,
            AuditEvent.object_type,
            AuditEvent.object_id,
            AuditEvent.purpose,
            AuditEvent.case_id,
            AuditEvent.details,
            AuditEvent.prev_hash,
            AuditEvent.hash,
        )
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=2000)
    )
    for row in rows:
        entry = AuditEntry(*row[2:10])
        broken = walk.step(row.seq, row.prev_hash, row.hash, entry, row.occurred_at)
        if broken:
            return walk.report(row.seq, broken)
    if broken_at := walk.finish():
        return walk.report(*broken_at)
    for checkpoint in checkpoints:
        problem = checkpoint_problem(checkpoint, walk.key, walk.hashes, walk.checked)
        if problem:
            return walk.report(checkpoint.seq, problem)
    return walk.report(None, None, checkpoints=len(checkpoints))


class _ChainWalk:
    """The state of a walk along the chain, one event at a time."""

    def __init__(self, key: AuditKey | None, path: Path, wanted: set[int]) -> None:
        self.key, self.path, self.wanted = key, path, wanted
        self.expected_prev, self.prev_seq = GENESIS_HASH, 0
        self.checked = self.keyed = 0
        self.last_unkeyed: tuple[int, str] | None = None
        self.hashes: dict[int, str] = {}

    def step(
        self, seq: int, prev_hash: str, hash_: str, entry: AuditEntry, at: dt.datetime
    ) -> str | None:
        self.checked += 1
        if prev_hash != self.expected_prev:
            return "its predecessor is missing or altered"
        if is_keyed(hash_):
            if self.key is None:
                return f"it is keyed, but there is no audit key at {self.path}"
            if self.keyed == 0 and (problem := self._unkeyed_end()):
                return problem
            if seq != self.prev_seq + 1:
                return f"it is numbered {seq} but follows {self.prev_seq}: renumbered"
            if _keyed_hash(self.key, seq, prev_hash, entry, at) != hash_:
                return "its content, number or predecessor does not match its keyed hash"
            self.keyed += 1
        else:
            if self.keyed:
                return "an unkeyed event after keyed ones: rewritten without the key"
            if _plain_hash(prev_hash, entry, at) != hash_:
                return "event content does not match its hash"
            if self.key is not None and seq > self.key.legacy_seq:
                return (
                    f"an unkeyed event newer than the last one the key file vouches for "
                    f"({self.key.legacy_seq}): rewritten without the key"
                )
            self.last_unkeyed = (seq, hash_)
        self.expected_prev, self.prev_seq = hash_, seq
        if seq in self.wanted:
            self.hashes[seq] = hash_
        return None

    def _unkeyed_end(self) -> str | None:
        """Where the unkeyed events end must be where the key file says they did."""
        assert self.key is not None
        if self.last_unkeyed is None or self.last_unkeyed == (
            self.key.legacy_seq,
            self.key.legacy_hash,
        ):
            return None
        return (
            f"the unkeyed events end at {self.last_unkeyed[0]}, not at {self.key.legacy_seq} "
            "as the key file says: cut or rewritten"
        )

    def finish(self) -> tuple[int, str] | None:
        if self.key is None or self.keyed:
            return None
        if problem := self._unkeyed_end():
            assert self.last_unkeyed is not None
            return self.last_unkeyed[0], problem
        if self.last_unkeyed is None and self.checked == 0 and self.key.legacy_seq > 0:
            return self.key.legacy_seq, (
                f"the trail is empty, but the key file vouches for {self.key.legacy_seq} "
                "unkeyed events: removed"
            )
        return None

    def report(self, seq: int | None, reason: str | None, *, checkpoints: int = 0) -> ChainReport:
        return ChainReport(self.checked, seq, reason, self.keyed, checkpoints)


def _head(session: Session) -> tuple[int, str] | None:
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return None if row is None else (row.seq, row.hash)


def _payload(prev_hash: str, entry: AuditEntry, occurred_at: dt.datetime, **extra: Any) -> str:
    # SQLite returns naive datetimes; hash the UTC instant so both databases agree.
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=dt.UTC)
    return json.dumps(
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
            **extra,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def _keyed_hash(
    key: AuditKey, seq: int, prev_hash: str, entry: AuditEntry, occurred_at: dt.datetime
) -> str:
    payload = _payload(prev_hash, entry, occurred_at, seq=seq)
    return KEYED_PREFIX + key.mac("event", payload)[:_KEYED_DIGITS]


def _plain_hash(prev_hash: str, entry: AuditEntry, occurred_at: dt.datetime) -> str:
    """The scheme before the trail was keyed: SHA-256 without a key or the event's number."""
    return hashlib.sha256(_payload(prev_hash, entry, occurred_at).encode()).hexdigest()
