import datetime as dt

import pytest
from sqlalchemy import select

from caseline.db import Database
from caseline.db.models import AuditEvent, UserSession
from caseline.errors import AccessDenied, InputError
from caseline.oversight import (
    Actor,
    Permission,
    Role,
    actor_for_token,
    authorize,
    create_user,
    require_purpose,
    sign_in,
    verify_chain,
)
from caseline.oversight.audit import AuditEntry, record_event
from caseline.oversight.identity import SessionPolicy, token_hash
from tests.conftest import ADMIN


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


def test_an_untouched_chain_verifies(database: Database) -> None:
    with database.transaction() as session:
        for n in range(5):
            record_event(session, _entry(n))
    with database.transaction() as session:
        report = verify_chain(session)
    assert report.intact and report.events_checked == 5


def test_an_event_rolls_back_with_the_change_it_records(database: Database) -> None:
    with pytest.raises(RuntimeError), database.transaction() as session:
        record_event(session, _entry(1))
        raise RuntimeError("the change failed")
    with database.transaction() as session:
        assert verify_chain(session).events_checked == 0


def test_sign_in_gives_a_token_that_names_the_actor(database: Database) -> None:
    with database.transaction() as session:
        create_user(session, "ann", Role.ANALYST, "a long password", actor=ADMIN)
    token = sign_in(database, "ann", "a long password", policy=SessionPolicy(hours=1))
    with database.transaction() as session:
        assert actor_for_token(session, token) == Actor("ann", Role.ANALYST)
    with pytest.raises(AccessDenied):
        sign_in(database, "ann", "wrong password", policy=SessionPolicy(hours=1))
    with database.transaction() as session, pytest.raises(AccessDenied):
        actor_for_token(session, "forged")


def test_a_short_password_is_refused(database: Database) -> None:
    with database.transaction() as session, pytest.raises(InputError, match="at least 12"):
        create_user(session, "bob", Role.ANALYST, "short", actor=ADMIN)


def test_roles_grant_only_their_permissions() -> None:
    authorize(Actor("ann", Role.ANALYST), Permission.SEARCH_PERSONS)
    with pytest.raises(AccessDenied, match="auditor"):
        authorize(Actor("aud", Role.AUDITOR), Permission.READ_PERSON)
    with pytest.raises(AccessDenied, match="admin"):
        authorize(Actor("root", Role.ADMIN), Permission.SEARCH_PERSONS)


def test_reading_a_person_needs_a_purpose() -> None:
    with pytest.raises(AccessDenied, match="purpose"):
        require_purpose(None)
    with pytest.raises(AccessDenied, match="purpose"):
        require_purpose("  ab  ")
    assert require_purpose(" case 42 identity review ") == "case 42 identity review"


def test_concurrent_writers_extend_one_unbroken_chain(database: Database) -> None:
    import threading

    failures: list[BaseException] = []

    def write_events() -> None:
        for n in range(15):
            try:
                with database.transaction() as session:
                    record_event(session, _entry(n))
            except BaseException as exc:  # noqa: BLE001 - the assert below reports it
                failures.append(exc)

    threads = [threading.Thread(target=write_events) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with database.transaction() as session:
        report = verify_chain(session)
    assert report.intact
    assert report.events_checked == 90


def test_an_expired_session_is_refused(database: Database) -> None:
    with database.transaction() as session:
        create_user(session, "cy", Role.ANALYST, "a long password", actor=ADMIN)
    token = sign_in(database, "cy", "a long password", policy=SessionPolicy(hours=1))
    with database.transaction() as session:
        stored = session.get(UserSession, token_hash(token))
        assert stored is not None
        stored.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with database.transaction() as session, pytest.raises(AccessDenied, match="expired"):
        actor_for_token(session, token)


def test_signing_in_and_adding_users_are_audited(database: Database) -> None:
    with database.transaction() as session:
        create_user(session, "dee", Role.LEGAL, "a long password", actor=ADMIN)
    sign_in(database, "dee", "a long password", policy=SessionPolicy(hours=1))
    with database.transaction() as session:
        events = [(e.actor, e.action, e.object_id) for e in session.scalars(select(AuditEvent))]
    assert (ADMIN.username, "add_user", "dee") in events
    assert ("dee", "sign_in", "dee") in events
