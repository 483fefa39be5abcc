"""Reads that do not serialise: a search or a profile read runs beside other reads and beside
the one writer, and is still never served without its audit event (issue 23).

On SQLite the reads run in a shared transaction (``Database.reading``) and the read's audit
event is appended after them, in a short transaction that takes the write lock, before the
answer leaves; on PostgreSQL the event is written in the reads' own transaction.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from caseline.cases import Lead, find_leads
from caseline.cli import app
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, Person, PersonRecord, UserSession
from caseline.db.session import WriteInReading
from caseline.oversight import Actor, Role, SessionPolicy, sign_in, verify_chain
from caseline.oversight.identity import token_hash
from caseline.profiles import search_persons
from caseline.server import create_app
from tests.cli_support import cli_login
from tests.conftest import PASSWORD, last_audit_seq

AS_OF = dt.date(2026, 1, 1)
ANN = Actor("ann", Role.ANALYST)
SEARCH_PURPOSE = "identity check before a hearing"
WAIT = 20.0  # seconds a step may take before the test calls it stuck


@pytest.fixture(scope="module")
def client(resolved: tuple[Settings, Database]) -> Iterator[TestClient]:
    settings, database = resolved
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def _bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _leads(database: Database, count: int) -> list[Lead]:
    """Leads no case is open on: reading their persons for them changes only the trail."""
    with database.transaction() as session:
        leads = [lead for lead in find_leads(session, AS_OF) if lead.open_case is None]
    assert len(leads) >= count
    return leads[:count]


def _family_names(database: Database, count: int) -> list[str]:
    with database.transaction() as session:
        names = session.scalars(
            select(Person.display_name).order_by(Person.record_count.desc()).limit(count)
        ).all()
    return [name.split()[-1] for name in names]


def _events(database: Database, after: int) -> list[AuditEvent]:
    """The trail after ``after``, read without the write lock (a writer may hold it)."""
    with database.reading() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
            )
        )


@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_a_search_reads_while_a_writer_holds_the_lock_and_waits_only_to_record_its_event(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    family = _family_names(database, 1)[0]
    since = last_audit_seq(database)
    held, release, read_done = threading.Event(), threading.Event(), threading.Event()

    def writer() -> None:
        with database.transaction() as session:  # SQLite: BEGIN IMMEDIATE, the write lock
            session.connection()  # begins now: the lock is held before `held` is set
            held.set()
            assert release.wait(WAIT)

    def reader() -> list[str]:
        with database.reading() as session:
            found = search_persons(session, family, actor=ANN, purpose=SEARCH_PURPOSE)
            read_done.set()
        return [p.person_id for p in found.persons]

    with ThreadPoolExecutor(2) as pool:
        holding = pool.submit(writer)
        assert held.wait(WAIT)
        reading = pool.submit(reader)
        try:
            # The reads do not wait for the writer...
            assert read_done.wait(WAIT), "the reads waited for the writer's lock"
            # ...but the answer does, until its event is appended.
            assert not reading.done()
            assert [e for e in _events(database, since) if e.action == "search_persons"] == []
        finally:
            release.set()
        holding.result(timeout=WAIT)
        shown = reading.result(timeout=WAIT)
    searches = [e for e in _events(database, since) if e.action == "search_persons"]
    assert [e.details["results"] for e in searches] == [shown]
    assert shown and searches[0].actor == "ann" and searches[0].purpose == SEARCH_PURPOSE


def test_concurrent_searches_and_profile_reads_all_succeed_and_each_is_audited_once(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    _, database = resolved
    leads = _leads(database, 3)
    families = _family_names(database, 4)
    readers = {name: _bearer(client, name) for name in ("ann", "sam")}
    since = last_audit_seq(database)

    def search(n: int) -> tuple[str, int]:
        name = "ann" if n % 2 else "sam"
        response = client.get(
            "/api/persons",
            params={"name": families[n % len(families)], "purpose": SEARCH_PURPOSE},
            headers=readers[name],
        )
        return "search_persons", response.status_code

    def profile(n: int) -> tuple[str, int]:
        lead = leads[n % len(leads)]
        response = client.get(
            f"/api/persons/{lead.person_id}",
            params={"purpose": f"lead:{lead.lead_id}", "as_of": AS_OF.isoformat()},
            headers=readers["ann"],
        )
        return "read_person", response.status_code

    def sign_in(_: int) -> tuple[str, int]:  # a writer among the readers
        response = client.post("/api/sessions", json={"username": "lee", "password": PASSWORD})
        return "sign_in", response.status_code

    work = [(search, profile, sign_in)[n % 3] for n in range(60)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda pair: pair[1](pair[0]), enumerate(work)))

    assert {status for _, status in answers} == {200}, Counter(answers)
    served = Counter(kind for kind, _ in answers)
    recorded = Counter(e.action for e in _events(database, since))
    assert {kind: recorded[kind] for kind in served} == dict(served)
    with database.transaction() as session:
        assert verify_chain(session).intact


def test_the_audit_trail_verifies_from_the_command_line_after_concurrent_reads(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    settings, database = resolved
    headers = _bearer(client, "ann")
    families = _family_names(database, 6)
    since = last_audit_seq(database)
    with ThreadPoolExecutor(6) as pool:
        statuses = list(
            pool.map(
                lambda family: (
                    client.get(
                        "/api/persons",
                        params={"name": family, "purpose": SEARCH_PURPOSE},
                        headers=headers,
                    ).status_code
                ),
                families * 3,
            )
        )
    assert statuses == [200] * len(families) * 3
    assert len([e for e in _events(database, since) if e.action == "search_persons"]) == 18
    runner = CliRunner()
    env = {"CASELINE_HOME": str(settings.home), "DATABASE_URL": settings.resolved_database_url}
    verified = runner.invoke(app, ["audit", "verify"], env=cli_login(runner, "aud", PASSWORD, env))
    assert verified.exit_code == 0, verified.output
    assert "intact" in verified.output


def _refuse_read_events(database: Database) -> None:
    """The audit store refuses the events of profile reads, as a full or broken one would."""
    with database.transaction() as session:
        if database.dialect == "sqlite":
            session.execute(text(
                "CREATE TRIGGER refuse_read_events BEFORE INSERT ON audit_events "
                "WHEN NEW.action = 'read_person' "
                "BEGIN SELECT RAISE(ABORT, 'audit store refuses'); END"
            ))  # fmt: skip
            return
        session.execute(text(
            "CREATE FUNCTION refuse_read_events() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF NEW.action = 'read_person' THEN RAISE EXCEPTION 'audit store refuses'; "
            "END IF; RETURN NEW; END $$"
        ))  # fmt: skip
        session.execute(text(
            "CREATE TRIGGER refuse_read_events BEFORE INSERT ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION refuse_read_events()"
        ))  # fmt: skip


def test_a_profile_whose_audit_event_cannot_be_written_is_not_served(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    lead = _leads(database, 1)[0]
    with database.transaction() as session:
        person = session.get_one(Person, lead.person_id)
        record_ids = session.scalars(
            select(PersonRecord.record_id).where(PersonRecord.person_id == person.person_id)
        ).all()
    purpose = {"purpose": f"lead:{lead.lead_id}", "as_of": AS_OF.isoformat()}
    with TestClient(create_app(settings, database), raise_server_exceptions=False) as client:
        headers = _bearer(client, "ann")
        served = client.get(f"/api/persons/{lead.person_id}", params=purpose, headers=headers)
        assert served.status_code == 200, served.text  # the same read, while events are kept
        _refuse_read_events(database)
        since = last_audit_seq(database)
        refused = client.get(f"/api/persons/{lead.person_id}", params=purpose, headers=headers)
        assert refused.status_code >= 500
        assert person.display_name not in refused.text
        assert not any(record_id in refused.text for record_id in record_ids)
        # What still writes its events is still served.
        found = client.get(
            "/api/persons", params={"name": person.display_name, "purpose": SEARCH_PURPOSE},
            headers=headers,
        )  # fmt: skip
        assert found.status_code == 200, found.text
    assert [e.action for e in _events(database, since)] == ["search_persons"]


@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_work_that_writes_in_a_reading_transaction_is_refused_and_writes_nothing(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    token = sign_in(database, "ann", PASSWORD, policy=SessionPolicy())
    with database.transaction() as session:
        stored = session.get_one(UserSession, token_hash(token))
    since = last_audit_seq(database)
    with pytest.raises(WriteInReading, match="UserSession"), database.reading() as session:
        search_persons(session, "garcia", actor=ANN, purpose=SEARCH_PURPOSE)
        session.get_one(UserSession, stored.token_hash).last_seen_at = dt.datetime.now(dt.UTC)
    with pytest.raises(WriteInReading, match="readonly"), database.reading() as session:
        session.execute(update(UserSession).values(last_seen_at=dt.datetime.now(dt.UTC)))
    with database.transaction() as session:
        assert session.get_one(UserSession, stored.token_hash).last_seen_at == stored.last_seen_at
    assert _events(database, since) == []  # the search's event went with its work


def test_a_session_due_to_be_marked_used_is_marked_and_the_request_served(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    _, database = resolved
    headers = _bearer(client, "ann")
    token = headers["Authorization"].removeprefix("Bearer ")
    idle_since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with database.transaction() as session:
        session.execute(
            update(UserSession)
            .where(UserSession.token_hash == token_hash(token))
            .values(last_seen_at=idle_since)
        )
    response = client.get(
        "/api/persons", params={"name": "garcia", "purpose": SEARCH_PURPOSE}, headers=headers
    )
    assert response.status_code == 200, response.text
    with database.transaction() as session:
        seen = session.scalars(
            select(UserSession.last_seen_at).where(UserSession.token_hash == token_hash(token))
        ).one()
    assert seen is not None
    assert (seen.replace(tzinfo=dt.UTC) if seen.tzinfo is None else seen) > idle_since
