"""Tampering with the audit trail, as an insider with the database's credentials would.

Each attack is first made as the service's connection can make it: the append-only trigger
must refuse it. Then it is made again the way someone with file access or the superuser
role would (SQLite: the triggers dropped; PostgreSQL: triggers off for the session, which
only a superuser may do), and `caseline audit verify`, run against the last checkpoint
shipped out of the database, must find it: exit 1, naming the first broken event.
An INSERT is not refused by the database (the trail is appended to), so only verify finds a
forged one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from caseline.cli import app
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent
from caseline.oversight import Role, create_user
from caseline.oversight.audit import (
    GENESIS_HASH,
    AuditEntry,
    _keyed_hash,
    _plain_hash,
    record_event,
)
from caseline.oversight.audit_keys import AuditKey, read_key
from tests.cli_support import cli_login
from tests.conftest import ADMIN, PASSWORD

pytestmark = pytest.mark.attack
runner = CliRunner()
EVENTS = 20  # written before the checkpoint, besides the auditor's own

Hasher = Callable[[AuditEvent, str], str]


@dataclass
class Trail:
    database: Database
    env: dict[str, str]  # the workspace, and the auditor's session for the CLI
    checkpoints: Path  # shipped elsewhere: the attacker cannot write it
    seqs: list[int]  # every event's number when the checkpoint was taken

    def verify(self) -> tuple[int, str]:
        result = runner.invoke(
            app, ["audit", "verify", "--checkpoint", str(self.checkpoints)], env=self.env
        )
        return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def trail(settings: Settings, database: Database, tmp_path: Path) -> Trail:
    """A workspace whose trail holds an auditor's sign-in and EVENTS reads, checkpointed."""
    env = {
        "CASELINE_HOME": str(settings.home),
        "DATABASE_URL": settings.resolved_database_url,
        "CASELINE_AUDIT_CHECKPOINT_FILE": str(tmp_path / "unused-checkpoints.txt"),
    }
    with database.transaction() as session:
        create_user(session, "aud", Role.AUDITOR, PASSWORD, actor=ADMIN)
    env = cli_login(runner, "aud", PASSWORD, env)  # a session: its use adds no event
    with database.transaction() as session:
        for n in range(EVENTS):
            record_event(session, AuditEntry("ann", "analyst", "read_person", "person",
                                             f"P{n}", f"case:{n}", str(n), {"n": n}))  # fmt: skip
    shipped = tmp_path / "elsewhere" / "checkpoints.txt"
    shipped.parent.mkdir()
    taken = runner.invoke(app, ["audit", "checkpoint", "--out", str(shipped)], env=env)
    assert taken.exit_code == 0, taken.output
    with database.transaction() as session:
        seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
    found = Trail(database, env, shipped, seqs)
    assert found.verify()[0] == 0, found.verify()  # whole before the attack
    return found


@contextmanager
def _bypassing_the_trigger(database: Database) -> Iterator[Session]:
    """A session of someone past the trigger: the file's owner or a superuser."""
    with database.transaction() as session:
        if database.dialect == "postgresql":
            session.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            session.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            session.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        yield session


def _rows(session: Session) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _entry(event: AuditEvent) -> AuditEntry:
    return AuditEntry(
        event.actor, event.role, event.action, event.object_type, event.object_id,
        event.purpose, event.case_id, event.details,
    )  # fmt: skip


def _unkeyed(event: AuditEvent, prev: str) -> str:
    """The old unkeyed scheme: anyone who reads the code can compute it."""
    return _plain_hash(prev, _entry(event), event.occurred_at)


def _keyed_under(key: AuditKey) -> Hasher:
    return lambda event, prev: _keyed_hash(key, event.seq, prev, _entry(event), event.occurred_at)


def _rechain(session: Session, from_seq: int, hasher: Hasher) -> None:
    """Recompute every hash from ``from_seq`` on, each hash moved aside first so the unique
    constraints hold at every statement."""
    session.expire_all()
    rows = _rows(session)
    original = {row.seq: row.hash for row in rows}
    for row in rows:
        session.execute(update(AuditEvent).where(AuditEvent.seq == row.seq)
                        .values(prev_hash=f"tmp-p{row.seq}", hash=f"tmp-h{row.seq}"))  # fmt: skip
    prev = GENESIS_HASH
    for row in rows:
        new = hasher(row, prev) if row.seq >= from_seq else original[row.seq]
        session.execute(
            update(AuditEvent).where(AuditEvent.seq == row.seq).values(prev_hash=prev, hash=new)
        )
        prev = new


def _renumber(session: Session, moves: dict[int, int]) -> None:
    """Give events new numbers, through numbers no event has, so none collide."""
    for old in moves:
        session.execute(update(AuditEvent).where(AuditEvent.seq == old).values(seq=-old))
    for old, new in moves.items():
        session.execute(update(AuditEvent).where(AuditEvent.seq == -old).values(seq=new))


def _forged_insert(session: Session, seq: int, prev_hash: str, at: dt.datetime) -> None:
    session.execute(
        insert(AuditEvent).values(
            seq=seq, occurred_at=at, actor="mallory", role="admin", action="add_user",
            object_type="user", object_id="mallory", details={}, prev_hash=prev_hash,
            hash="k1:" + "ab" * 30,
        )
    )  # fmt: skip


# Each attack: what the service's own connection would run (None: the database allows it),
# and the tampering done past the trigger.
Statement = Callable[[Trail], list[object]]
Tamper = Callable[[Session, Trail], None]


def _edit(trail: Trail) -> list[object]:
    return [update(AuditEvent).where(AuditEvent.seq == trail.seqs[5]).values(object_id="P999")]


def _delete_newest(count: int) -> Statement:
    return lambda trail: [delete(AuditEvent).where(AuditEvent.seq > trail.seqs[-1] - count)]


def _delete_middle(trail: Trail) -> list[object]:
    return [delete(AuditEvent).where(AuditEvent.seq == trail.seqs[len(trail.seqs) // 2])]


def _truncate(trail: Trail) -> list[object]:
    if trail.database.dialect == "postgresql":
        return [text("TRUNCATE audit_events")]
    return [delete(AuditEvent)]


def _renumber_statement(trail: Trail) -> list[object]:
    return [update(AuditEvent).where(AuditEvent.seq == trail.seqs[-1]).values(seq=-1)]


def _rewrite_statement(trail: Trail) -> list[object]:
    return [update(AuditEvent).values(actor="nobody")]


def tamper_edit(session: Session, trail: Trail) -> None:
    for statement in _edit(trail):
        session.execute(statement)  # type: ignore[call-overload]


def tamper_edit_rehashed_unkeyed(session: Session, trail: Trail) -> None:
    tamper_edit(session, trail)
    _rechain(session, trail.seqs[5], _unkeyed)


def tamper_edit_rehashed_own_key(session: Session, trail: Trail) -> None:
    tamper_edit(session, trail)
    _rechain(session, trail.seqs[5], _keyed_under(AuditKey(b"\x01" * 32, Path("theirs.key"))))


def tamper_delete(statement: Statement) -> Tamper:
    def tamper(session: Session, trail: Trail) -> None:
        for each in statement(trail):
            session.execute(each)  # type: ignore[call-overload]

    return tamper


def tamper_delete_middle_rechained(session: Session, trail: Trail) -> None:
    """The middle event gone and the later ones renumbered to close the gap."""
    middle = trail.seqs[len(trail.seqs) // 2]
    session.execute(delete(AuditEvent).where(AuditEvent.seq == middle))
    _renumber(session, {seq: seq - 1 for seq in trail.seqs if seq > middle})
    _rechain(session, middle, _unkeyed)


def tamper_insert_newest(session: Session, trail: Trail) -> None:
    last = _rows(session)[-1]
    _forged_insert(session, last.seq + 1, last.hash, last.occurred_at)


def tamper_insert_middle(session: Session, trail: Trail) -> None:
    """Room made in the middle by renumbering the later events, one forged there."""
    rows = _rows(session)
    at = rows[len(rows) // 2]
    _renumber(session, {row.seq: row.seq + 1 for row in rows if row.seq > at.seq})
    forged = "k1:" + "ab" * 30
    session.execute(update(AuditEvent).where(AuditEvent.seq == at.seq + 2).values(prev_hash=forged))
    _forged_insert(session, at.seq + 1, at.hash, at.occurred_at)


def tamper_reorder(session: Session, trail: Trail) -> None:
    first, second = trail.seqs[4], trail.seqs[5]
    _renumber(session, {first: second, second: first})


def tamper_renumber_all(session: Session, trail: Trail) -> None:
    _renumber(session, {seq: seq + 100 for seq in trail.seqs})


def tamper_renumber_tail(session: Session, trail: Trail) -> None:
    _renumber(session, {seq: seq + 100 for seq in trail.seqs[-5:]})


def tamper_truncate_tail(session: Session, trail: Trail) -> None:
    """Every event after the oldest five gone, a forged one appended, keyed with no key."""
    keep = trail.seqs[4]
    session.execute(delete(AuditEvent).where(AuditEvent.seq > keep))
    tamper_insert_newest(session, trail)


def tamper_truncate_all(session: Session, trail: Trail) -> None:
    for statement in _truncate(trail):
        session.execute(statement)  # type: ignore[call-overload]


def tamper_rewrite_whole_unkeyed(session: Session, trail: Trail) -> None:
    """Every event rewritten (one changed, one dropped), chained with the correct hash of
    the unkeyed scheme: a chain that checks, without the key."""
    session.execute(update(AuditEvent).where(AuditEvent.seq == trail.seqs[3]).values(actor="bob"))
    session.execute(delete(AuditEvent).where(AuditEvent.seq == trail.seqs[-1]))
    _rechain(session, trail.seqs[0], _unkeyed)


def tamper_rewrite_whole_with_key(session: Session, trail: Trail) -> None:
    """Root on the host holds the key too: the chain checks; only the checkpoint tells."""
    key = read_key(Path(_key_file()))
    assert key is not None
    session.execute(update(AuditEvent).where(AuditEvent.seq == trail.seqs[3]).values(actor="bob"))
    _rechain(session, trail.seqs[0], _keyed_under(key))


def _key_file() -> str:
    import os

    return os.environ["CASELINE_AUDIT_KEY_FILE"]


@dataclass(frozen=True)
class Attack:
    statement: Statement | None  # what the trigger must refuse; None: an INSERT it allows
    tamper: Tamper
    found: str  # what verify says


ATTACKS = {
    "edit-one": Attack(_edit, tamper_edit, "does not match its keyed hash"),
    "edit-rehashed-unkeyed": Attack(_edit, tamper_edit_rehashed_unkeyed, "rewritten without"),
    "edit-rehashed-own-key": Attack(_edit, tamper_edit_rehashed_own_key, "keyed hash"),
    "delete-newest-1": Attack(
        _delete_newest(1), tamper_delete(_delete_newest(1)), "cut or renumbered"
    ),
    "delete-newest-10": Attack(
        _delete_newest(10), tamper_delete(_delete_newest(10)), "cut or renumbered"
    ),
    "delete-middle": Attack(_delete_middle, tamper_delete(_delete_middle), "predecessor"),
    "delete-middle-renumbered": Attack(
        _delete_middle, tamper_delete_middle_rechained, "rewritten without the key"
    ),
    "insert-newest": Attack(None, tamper_insert_newest, "does not match its keyed hash"),
    "insert-middle": Attack(_renumber_statement, tamper_insert_middle, "audit chain broken"),
    "reorder-two": Attack(_renumber_statement, tamper_reorder, "audit chain broken"),
    "renumber-all": Attack(_renumber_statement, tamper_renumber_all, "renumbered"),
    "renumber-tail": Attack(_renumber_statement, tamper_renumber_tail, "renumbered"),
    "truncate-tail": Attack(_delete_newest(15), tamper_truncate_tail, "audit chain broken"),
    "truncate-all": Attack(_truncate, tamper_truncate_all, "audit chain broken"),
    "rewrite-whole-unkeyed": Attack(
        _rewrite_statement, tamper_rewrite_whole_unkeyed, "rewritten without the key"
    ),
    "rewrite-whole-with-key": Attack(
        _rewrite_statement, tamper_rewrite_whole_with_key, "is not the one the checkpoint"
    ),
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_audit_tampering_is_refused_or_found(trail: Trail, attack: str) -> None:
    chosen = ATTACKS[attack]
    if chosen.statement is not None:
        for statement in chosen.statement(trail):
            with (
                pytest.raises(DBAPIError, match="append-only"),
                trail.database.transaction() as session,
            ):
                session.execute(statement)  # type: ignore[call-overload]
        assert trail.verify()[0] == 0  # the refused change left the trail whole
    with _bypassing_the_trigger(trail.database) as session:
        chosen.tamper(session, trail)
    code, said = trail.verify()
    assert code == 1, said
    assert "audit chain broken at event" in said and chosen.found in said, said
