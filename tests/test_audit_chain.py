"""The audit trail against someone who can write to the database but not read the key.

Each attack is made the way a hostile insider with the database's credentials would make it:
the append-only triggers dropped first (``_tampering``), then rows edited, deleted, inserted
or renumbered, and every later hash recomputed where that helps them (with plain SHA-256,
or HMAC under a key of their own, since they lack the audit key). Each must be found.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent
from caseline.errors import StateError
from caseline.oversight import ChainReport, Checkpoint, verify_chain
from caseline.oversight.audit import GENESIS_HASH, AuditEntry, _keyed_hash, record_event
from caseline.oversight.audit_checkpoint import take_checkpoint
from caseline.oversight.audit_keys import AuditKey, audit_key_path, read_key

Hasher = Callable[[AuditEvent, str], str]


@pytest.fixture(autouse=True)
def own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's trail has a key of its own, in the test's folder."""
    path = tmp_path / "keys" / "audit.key"
    monkeypatch.setenv("CASELINE_AUDIT_KEY_FILE", str(path))
    return path


def _entry(n: int) -> AuditEntry:
    return AuditEntry(
        actor="ann",
        role="analyst",
        action="read_person",
        object_type="person",
        object_id=f"P{n}",
        purpose="case screening",
        details={"n": n},
    )


def _write(database: Database, count: int, start: int = 0) -> list[int]:
    with database.transaction() as session:
        return [record_event(session, _entry(n)).seq for n in range(start, start + count)]


def _verify(database: Database, *checkpoints: Checkpoint) -> ChainReport:
    with database.transaction() as session:
        return verify_chain(session, checkpoints=checkpoints)


def _checkpoint(database: Database) -> Checkpoint:
    with database.transaction() as session:
        key = read_key(audit_key_path(session))
        assert key is not None
        return take_checkpoint(session, key)


@contextmanager
def _tampering(database: Database) -> Iterator[Session]:
    """A session of someone who owns the tables: the append-only triggers are off in it."""
    with database.transaction() as session:
        if database.dialect == "postgresql":
            session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            session.execute(text("DROP TRIGGER audit_events_no_update"))
            session.execute(text("DROP TRIGGER audit_events_no_delete"))
        yield session
        if database.dialect == "postgresql":
            session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def _rows(session: Session) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _plain_hash(event: AuditEvent, prev_hash: str) -> str:
    """The old unkeyed scheme, as anyone can compute it."""
    at = event.occurred_at if event.occurred_at.tzinfo else event.occurred_at.replace(tzinfo=dt.UTC)
    payload = {
        "prev": prev_hash,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": event.actor,
        "role": event.role,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "purpose": event.purpose,
        "case_id": event.case_id,
        "details": event.details,
    }
    text_ = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text_.encode()).hexdigest()


def _rechain(session: Session, from_seq: int, hasher: Hasher) -> None:
    """Recompute every hash from ``from_seq`` on, as the attacker can (``hasher(event, prev)``).

    Each hash is moved aside before the new ones are set, so the unique constraints hold at
    every statement."""
    session.expire_all()
    rows = _rows(session)
    original = {row.seq: row.hash for row in rows}
    for row in rows:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.seq == row.seq)
            .values(prev_hash=f"tmp-p{row.seq}", hash=f"tmp-h{row.seq}")
        )
    prev = GENESIS_HASH
    for row in rows:
        new_hash = hasher(row, prev) if row.seq >= from_seq else original[row.seq]
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.seq == row.seq)
            .values(prev_hash=prev, hash=new_hash)
        )
        prev = new_hash


def _keyed_with(key: AuditKey) -> Hasher:
    def rehash(event: AuditEvent, prev: str) -> str:
        entry = AuditEntry(
            event.actor, event.role, event.action, event.object_type, event.object_id,
            event.purpose, event.case_id, event.details,
        )  # fmt: skip
        return _keyed_hash(key, event.seq, prev, entry, event.occurred_at)

    return rehash


# The database refuses


def test_the_database_refuses_to_update_or_delete_an_event(database: Database) -> None:
    seqs = _write(database, 3)
    with pytest.raises(DBAPIError, match="append-only"), database.transaction() as session:
        session.execute(
            update(AuditEvent).where(AuditEvent.seq == seqs[1]).values(object_id="P999")
        )
    with pytest.raises(DBAPIError, match="append-only"), database.transaction() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == seqs[-1]))
    with pytest.raises(DBAPIError, match="append-only"), database.transaction() as session:
        session.execute(delete(AuditEvent))
    if database.dialect == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), database.transaction() as session:
            session.execute(text("TRUNCATE audit_events"))
    report = _verify(database)
    assert report.intact and report.events_checked == 3 and report.keyed_events == 3


# Keyed hashes


def test_new_events_are_keyed_with_a_key_outside_the_database(
    database: Database, own_key: Path
) -> None:
    _write(database, 2)
    key = read_key(own_key)
    assert key is not None and len(key.secret) == 32
    assert stat.S_IMODE(own_key.stat().st_mode) == 0o600
    with database.transaction() as session:
        stored = [(e.prev_hash, e.hash) for e in _rows(session)]
        assert all(h.startswith("k1:") and len(h) == 64 for _, h in stored)
        values = session.execute(select(AuditEvent.__table__)).all()  # type: ignore[arg-type]
    assert key.secret.hex() not in repr(values)
    assert stored[1][0] == stored[0][1]


def test_the_key_lives_beside_a_sqlite_database_by_default(
    settings: Settings, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CASELINE_AUDIT_KEY_FILE")
    if database.dialect != "sqlite":
        monkeypatch.setenv("CASELINE_HOME", str(settings.home))
    _write(database, 1)
    assert (settings.home / "audit.key").exists()
    assert stat.S_IMODE((settings.home / "audit.key").stat().st_mode) == 0o600
    assert _verify(database).intact


def test_an_edited_event_with_every_later_hash_recomputed_unkeyed_is_found(
    database: Database,
) -> None:
    seqs = _write(database, 6)
    with _tampering(database) as session:
        session.execute(
            update(AuditEvent).where(AuditEvent.seq == seqs[3]).values(object_id="P999")
        )
        _rechain(session, seqs[3], _plain_hash)
    report = _verify(database)
    assert report.first_broken_seq == seqs[3]
    assert "unkeyed event after keyed ones" in (report.reason or "")


def test_a_trail_rewritten_whole_without_the_key_is_found_without_a_checkpoint(
    database: Database,
) -> None:
    seqs = _write(database, 4)
    with _tampering(database) as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == seqs[0]).values(actor="bob"))
        _rechain(session, seqs[0], _plain_hash)
    report = _verify(database)
    assert report.first_broken_seq == seqs[0]
    assert "newer than the last one the key file vouches for" in (report.reason or "")


def test_an_edit_rehashed_under_another_key_is_found(database: Database, tmp_path: Path) -> None:
    seqs = _write(database, 5)
    forge = _keyed_with(AuditKey(b"\x01" * 32, tmp_path / "theirs.key"))
    with _tampering(database) as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == seqs[2]).values(purpose="x"))
        _rechain(session, seqs[2], forge)
    report = _verify(database)
    assert report.first_broken_seq == seqs[2]
    assert "does not match its keyed hash" in (report.reason or "")


def test_an_edit_without_rehashing_is_found(database: Database) -> None:
    seqs = _write(database, 4)
    with _tampering(database) as session:
        session.execute(
            update(AuditEvent).where(AuditEvent.seq == seqs[2]).values(details={"n": 99})
        )
    assert _verify(database).first_broken_seq == seqs[2]


def test_a_deleted_event_in_the_middle_is_found(database: Database) -> None:
    seqs = _write(database, 4)
    with _tampering(database) as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == seqs[1]))
    report = _verify(database)
    assert report.first_broken_seq == seqs[2]
    assert "predecessor" in (report.reason or "")


def test_an_inserted_event_is_found(database: Database) -> None:
    seqs = _write(database, 3)
    with _tampering(database) as session:
        last = _rows(session)[-1]
        session.execute(
            insert(AuditEvent).values(
                seq=last.seq + 1, occurred_at=last.occurred_at, actor="mallory", role="admin",
                action="add_user", object_type="user", object_id="mallory", details={},
                prev_hash=last.hash, hash="k1:" + "ab" * 30,
            )
        )  # fmt: skip
    report = _verify(database)
    assert report.first_broken_seq == seqs[-1] + 1
    assert "does not match its keyed hash" in (report.reason or "")


@pytest.mark.parametrize("shift", ["all", "tail"])
def test_renumbered_events_are_found(database: Database, shift: str) -> None:
    seqs = _write(database, 5)
    moved = seqs if shift == "all" else seqs[3:]
    with _tampering(database) as session:
        for seq in reversed(moved):  # newest first: the new numbers are free
            session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(seq=seq + 100))
    report = _verify(database)
    assert report.first_broken_seq == moved[0] + 100
    assert "renumbered" in (report.reason or "")


def test_two_events_swapped_are_found(database: Database) -> None:
    seqs = _write(database, 4)
    with _tampering(database) as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == seqs[1]).values(seq=-1))
        session.execute(update(AuditEvent).where(AuditEvent.seq == seqs[2]).values(seq=seqs[1]))
        session.execute(update(AuditEvent).where(AuditEvent.seq == -1).values(seq=seqs[2]))
    assert _verify(database).first_broken_seq == seqs[1]


# Checkpoints


@pytest.mark.parametrize("cut", [1, 10])
def test_the_newest_events_deleted_are_found_against_a_checkpoint(
    database: Database, cut: int
) -> None:
    seqs = _write(database, 12)
    checkpoint = _checkpoint(database)
    assert (checkpoint.seq, checkpoint.events) == (seqs[-1], 12)
    with _tampering(database) as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq > seqs[-1] - cut))
    assert _verify(database).intact  # what is left is a whole chain: only a checkpoint can tell
    report = _verify(database, checkpoint)
    assert report.first_broken_seq == seqs[-1]
    assert "missing: cut or renumbered" in (report.reason or "")


def test_a_checkpoint_still_holds_as_the_trail_grows(database: Database) -> None:
    _write(database, 3)
    first = _checkpoint(database)
    _write(database, 4, start=3)
    second = _checkpoint(database)
    report = _verify(database, first, second)
    assert report.intact and report.checkpoints_checked == 2 and report.events_checked == 7


def test_a_tail_rewritten_up_to_the_checkpoint_is_found(database: Database) -> None:
    seqs = _write(database, 5)
    checkpoint = _checkpoint(database)
    with _tampering(database) as session:
        # Drop the newest event and re-add one in its place with the same number: the chain
        # needs the key to look whole, so the attacker's copy carries a hash that cannot fit.
        last = _rows(session)[-1]
        session.execute(delete(AuditEvent).where(AuditEvent.seq == last.seq))
        session.execute(
            insert(AuditEvent).values(
                seq=last.seq, occurred_at=last.occurred_at, actor="ann", role="analyst",
                action="read_person", object_type="person", object_id="P0", details={},
                prev_hash=last.prev_hash, hash="k1:" + "cd" * 30,
            )
        )  # fmt: skip
    report = _verify(database, checkpoint)
    assert report.first_broken_seq == seqs[-1] and not report.intact


def test_a_trail_rewritten_with_the_key_is_found_by_a_published_checkpoint(
    database: Database, own_key: Path
) -> None:
    """Someone who has the key too (root on the host) can make the chain whole again; the
    checkpoint shipped elsewhere before still tells."""
    seqs = _write(database, 5)
    checkpoint = _checkpoint(database)
    key = read_key(own_key)
    assert key is not None
    with _tampering(database) as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == seqs[1]).values(actor="bob"))
        _rechain(session, seqs[1], _keyed_with(key))
    assert _verify(database).intact
    report = _verify(database, checkpoint)
    assert report.first_broken_seq == seqs[-1]
    assert "is not the one the checkpoint" in (report.reason or "")


def test_the_oldest_events_deleted_are_found(database: Database) -> None:
    seqs = _write(database, 5)
    with _tampering(database) as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq <= seqs[1]))
    report = _verify(database)
    assert report.first_broken_seq == seqs[2] and "predecessor" in (report.reason or "")


def test_a_forged_or_foreign_checkpoint_is_refused(database: Database, tmp_path: Path) -> None:
    _write(database, 3)
    checkpoint = _checkpoint(database)
    forged = replace(checkpoint, seq=1, events=1)
    assert "not signed" in (_verify(database, forged).reason or "")
    foreign_key = AuditKey(b"\x02" * 32, tmp_path / "other.key")
    with database.transaction() as session:
        foreign = take_checkpoint(session, foreign_key)
    assert "not signed" in (_verify(database, foreign).reason or "")


# Trails made before the key


def _write_unkeyed(database: Database, count: int) -> list[int]:
    """Events as Caseline wrote them before the trail was keyed: plain SHA-256."""
    with database.transaction() as session:
        prev, seqs = GENESIS_HASH, []
        for n in range(count):
            event = AuditEvent(
                seq=n + 1, occurred_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), actor="ann",
                role="analyst", action="read_person", object_type="person", object_id=f"L{n}",
                purpose="legacy", case_id=None, details={"n": n}, prev_hash=prev, hash="",
            )  # fmt: skip
            event.hash = _plain_hash(event, prev)
            session.add(event)
            session.flush()
            prev = event.hash
            seqs.append(event.seq)
        return seqs


def test_an_unkeyed_trail_goes_on_keyed_and_verifies(database: Database, own_key: Path) -> None:
    old = _write_unkeyed(database, 3)
    assert not own_key.exists()
    assert _verify(database).intact  # no key yet: the old events are checked as they were made
    new = _write(database, 2)
    key = read_key(own_key)
    assert key is not None and key.legacy_seq == old[-1]
    report = _verify(database, _checkpoint(database))
    assert report.intact and report.events_checked == 5 and report.keyed_events == 2
    assert new == [old[-1] + 1, old[-1] + 2]


def test_unkeyed_events_cut_below_where_the_key_file_says_are_found(database: Database) -> None:
    old = _write_unkeyed(database, 4)
    _write(database, 1)
    with _tampering(database) as session:
        # Everything rewritten unkeyed, the keyed event and the newest old one left out.
        session.execute(delete(AuditEvent).where(AuditEvent.seq >= old[-1]))
    report = _verify(database)
    assert report.first_broken_seq == old[-2]
    assert "as the key file says" in (report.reason or "")


def test_a_lost_key_stops_the_trail_and_says_so(database: Database, own_key: Path) -> None:
    seqs = _write(database, 2)
    own_key.unlink()
    with pytest.raises(StateError, match=r"key file .* is missing"):
        _write(database, 1)
    report = _verify(database)
    assert report.first_broken_seq == seqs[0] and "no audit key" in (report.reason or "")


def test_an_overlong_id_is_recorded_cut_and_the_chain_holds(database: Database) -> None:
    long_id = "P" + "9" * 64  # 65 characters: a request may name anything
    with database.transaction() as session:
        event = record_event(
            session, AuditEntry("ann", "analyst", "read_person", "person", object_id=long_id)
        )
    assert event.object_id is not None and len(event.object_id) == 64
    assert event.object_id.endswith("…") and long_id.startswith(event.object_id[:-1])
    with database.transaction() as session:
        assert verify_chain(session).intact
