"""Checkpoints: the audit chain's head, signed, kept outside the database.

A checkpoint is one line of text an operator can publish or ship elsewhere::

    caseline-audit-checkpoint v1 seq=1207 head=k1:9c0e... events=1207
      at=2026-12-05T09:00:00.000000+00:00 key=3fa1c2d0e9b87a65 sig=5be0...

(on one line). ``sig`` is HMAC-SHA256 under the audit key over everything before it, so a
line cannot be forged or edited without the key. Verifying against it finds a trail cut
below the checkpoint (the event it names is gone, or fewer events are left), and a trail
rewritten or renumbered up to it (the event it names has another hash). Events after the
newest checkpoint are protected by their keyed hashes only: a cut there is not seen.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseline.db.models import AuditEvent
from caseline.errors import InputError
from caseline.oversight.audit_keys import GENESIS_HASH, AuditKey

_MAGIC = "caseline-audit-checkpoint v1"
_LINE = re.compile(
    rf"^{_MAGIC} seq=(?P<seq>\d+) head=(?P<head>\S+) events=(?P<events>\d+) "
    r"at=(?P<at>\S+) key=(?P<key>[0-9a-f]+) sig=(?P<sig>[0-9a-f]{64})$"
)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The head of the chain (its number and hash) and how many events it had, when."""

    seq: int
    head: str
    events: int
    at: dt.datetime
    key_id: str
    signature: str

    @property
    def signed_text(self) -> str:
        return (
            f"{_MAGIC} seq={self.seq} head={self.head} events={self.events} "
            f"at={self.at.isoformat(timespec='microseconds')} key={self.key_id}"
        )

    @property
    def line(self) -> str:
        return f"{self.signed_text} sig={self.signature}"

    def signed_by(self, key: AuditKey) -> bool:
        return self.key_id == key.key_id and hmac.compare_digest(
            self.signature, key.mac("checkpoint", self.signed_text)
        )


def take_checkpoint(session: Session, key: AuditKey) -> Checkpoint:
    """Sign the chain's head as it is now (call with the chain locked)."""
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    events = session.scalar(select(func.count()).where(AuditEvent.seq <= seq)) or 0
    at = dt.datetime.now(dt.UTC)
    unsigned = Checkpoint(seq, head_hash, events, at, key.key_id, "")
    return Checkpoint(
        seq, head_hash, events, at, key.key_id, key.mac("checkpoint", unsigned.signed_text)
    )


def parse_checkpoint(line: str, *, where: str) -> Checkpoint:
    match = _LINE.match(line.strip())
    if match is None:
        raise InputError(f"not a checkpoint line ({_MAGIC} seq=... sig=...)", where=where)
    try:
        at = dt.datetime.fromisoformat(match["at"])
    except ValueError:
        raise InputError(f"{match['at']!r} is not a time", where=where) from None
    return Checkpoint(
        int(match["seq"]), match["head"], int(match["events"]), at, match["key"], match["sig"]
    )


def read_checkpoints(path: Path) -> list[Checkpoint]:
    """Every checkpoint in ``path``, oldest first (blank lines and ``#`` comments skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError("no such checkpoint file", where=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not a text file of checkpoints", where=str(path)) from None
    return [
        parse_checkpoint(line, where=f"{path}:{number}")
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def append_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Add the line to ``path``, made readable by its owner only if it is new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(checkpoint.line + "\n")


def checkpoint_problem(
    checkpoint: Checkpoint, key: AuditKey | None, hashes: dict[int, str], events: int
) -> str | None:
    """Why the trail does not hold what ``checkpoint`` saw, or None if it does.

    ``hashes`` maps the checkpoints' event numbers to the hashes found there, and ``events``
    is how many events the trail has now.
    """
    made = f"the checkpoint of {checkpoint.at.isoformat(timespec='seconds')}"
    if key is None:
        return f"{made} cannot be checked: there is no audit key"
    if not checkpoint.signed_by(key):
        return f"{made} is not signed with this trail's key: forged, altered or another trail's"
    if checkpoint.seq and checkpoint.seq not in hashes:
        return f"event {checkpoint.seq}, the head at {made}, is missing: cut or renumbered"
    if checkpoint.seq and hashes[checkpoint.seq] != checkpoint.head:
        return f"event {checkpoint.seq} is not the one {made} saw: rewritten, or cut and written on"
    if events < checkpoint.events:
        return f"{events} events, fewer than the {checkpoint.events} at {made}: events removed"
    return None
