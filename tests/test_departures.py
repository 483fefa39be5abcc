"""Voluntary departures verified against exit records: the package, the API and the CLI."""

import csv
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from caseline.cases import Departure, DepartureState, Thresholds, list_departures
from caseline.cases.departures import find_departures
from caseline.cli import app as cli
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, Case, CaseTransition, Person, PersonRecord, SourceRecord
from caseline.errors import AccessDenied, InputError
from caseline.ingest import ingest_file
from caseline.oversight import Actor, Role
from caseline.server import create_app
from caseline.synth import WorldSummary
from tests.cli_support import cli_login
from tests.conftest import OPERATOR, PASSWORD, last_audit_seq

AS_OF = dt.date(2026, 1, 1)  # the small world's reference date
THRESHOLDS = Thresholds(identity=0.95, address=0.5)
ANN = Actor("ann", Role.ANALYST)


def _departures(database: Database, thresholds: Thresholds = THRESHOLDS) -> list[Departure]:
    with database.transaction() as session:
        return find_departures(session, AS_OF, thresholds)


def _true_status(database: Database, world: WorldSummary) -> dict[str, set[str]]:
    """Per Caseline person, the ground-truth status of the true person most of its records
    belong to; of each, when true persons tie (the rows come in no fixed order: picking one of
    them would pick differently from one database to the next)."""
    entity_of = {}
    with world.source_files["entry_exit"].parent.joinpath("truth.csv").open() as handle:
        for row in csv.DictReader(handle):
            entity_of[(row["source"], row["source_key"])] = row["entity_id"]
    with world.source_files["entry_exit"].parent.joinpath("persons.csv").open() as handle:
        status_of = {row["entity_id"]: row["status"] for row in csv.DictReader(handle)}
    held: dict[str, Counter[str]] = defaultdict(Counter)
    with database.transaction() as session:
        for person_id, source, key in session.execute(
            select(PersonRecord.person_id, SourceRecord.source, SourceRecord.source_key).join(
                SourceRecord, SourceRecord.record_id == PersonRecord.record_id
            )
        ):
            held[person_id][entity_of[(source, key)]] += 1
    return {
        pid: {status_of[e] for e, n in counts.items() if n == max(counts.values())}
        for pid, counts in held.items()
    }


def test_departures_granted_in_court_are_verified_by_exits_or_overdue(
    resolved: tuple[Settings, Database], small_world: WorldSummary
) -> None:
    _, database = resolved
    found = _departures(database)
    states = Counter(d.state for d in found)
    assert states[DepartureState.VERIFIED] and states[DepartureState.OVERDUE], states
    truth = _true_status(database, small_world)
    with database.transaction() as session:
        for departure in found:
            assert departure.granted_on is not None and departure.deadline > departure.granted_on
            if departure.state == DepartureState.VERIFIED:
                exit_record = session.get(SourceRecord, departure.exit_record_id)
                owner = session.get(PersonRecord, departure.exit_record_id)
                assert exit_record is not None and owner is not None
                assert exit_record.extra["event_type"] == "EXIT"
                assert owner.person_id == departure.person_id
                assert exit_record.observed_on == departure.exit_on
                assert departure.exit_on is not None and departure.exit_on >= departure.granted_on
                assert departure.exit_record_id in departure.why
                assert "voluntary_departure_departed" in truth[departure.person_id]
            if departure.state == DepartureState.OVERDUE:
                assert departure.deadline < AS_OF and departure.exit_record_id is None
                assert "no exit on record" in departure.why
                assert "voluntary_departure_overdue" in truth[departure.person_id]
    departed = [pid for pid, held in truth.items() if held == {"voluntary_departure_departed"}]
    verified = {d.person_id for d in found if d.state == DepartureState.VERIFIED}
    assert len(verified) >= 0.8 * len(departed)


def test_an_exit_on_a_person_of_low_identity_assurance_is_only_probable(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    sure = {d.person_id: d for d in _departures(database)}
    unsure = {d.person_id: d for d in _departures(database, Thresholds(identity=1.01, address=0.5))}
    verified = [pid for pid, d in sure.items() if d.state == DepartureState.VERIFIED]
    assert verified
    for person_id in verified:
        doubted = unsure[person_id]
        assert doubted.state == DepartureState.PROBABLE
        assert doubted.exit_record_id == sure[person_id].exit_record_id
        assert "below 1.01" in doubted.why


def _person_names(database: Database, person_id: str) -> tuple[str, str]:
    with database.transaction() as session:
        given, family = session.execute(
            select(SourceRecord.given_name, SourceRecord.family_name)
            .join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
            .where(PersonRecord.person_id == person_id, SourceRecord.given_name.is_not(None))
            .group_by(SourceRecord.given_name, SourceRecord.family_name)
            .order_by(func.count().desc(), SourceRecord.given_name, SourceRecord.family_name)
            .limit(1)
        ).one()
    return given, family


def _ingest_exits(
    settings: Settings, database: Database, path: Path, rows: list[dict[str, str]]
) -> None:
    columns = [
        "event_id", "event_type", "event_date", "port", "passport_number", "citizenship",
        "surname", "given_names", "date_of_birth", "sex",
    ]  # fmt: skip
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows({c: row.get(c, "") for c in columns} for row in rows)
    with database.transaction() as session:
        ingest_file(
            session, path, "entry_exit", identifier_key=settings.identifier_key, actor=OPERATOR
        )


def test_a_namesakes_exit_not_linked_to_the_person_makes_an_overdue_departure_probable(
    mutable_resolved: tuple[Settings, Database], tmp_path: Path
) -> None:
    settings, database = mutable_resolved
    overdue = [d for d in _departures(database) if d.state == DepartureState.OVERDUE]
    assert overdue
    chosen = overdue[0]
    assert chosen.granted_on is not None
    given, family = _person_names(database, chosen.person_id)
    left = chosen.granted_on + dt.timedelta(days=20)
    before = chosen.granted_on - dt.timedelta(days=20)
    _ingest_exits(
        settings,
        database,
        tmp_path / "exits.csv",
        [
            # Left before the grant: no evidence of this departure.
            {
                "event_id": "NAMESAKE-0",
                "event_type": "EXIT",
                "event_date": before.isoformat(),
                "surname": family,
                "given_names": given,
                "port": "JFK",
            },
            # Someone of the same name born on another day: not the person.
            {
                "event_id": "NAMESAKE-1",
                "event_type": "EXIT",
                "event_date": left.isoformat(),
                "surname": family,
                "given_names": given,
                "date_of_birth": "01 JAN 1901",
            },
            {
                "event_id": "NAMESAKE-2",
                "event_type": "EXIT",
                "event_date": left.isoformat(),
                "surname": family,
                "given_names": given,
                "port": "MIA",
            },
        ],
    )
    with database.transaction() as session:
        namesake = session.scalar(
            select(SourceRecord.record_id).where(SourceRecord.source_key == "NAMESAKE-2")
        )
    after = {d.person_id: d for d in _departures(database)}[chosen.person_id]
    assert after.state == DepartureState.PROBABLE
    assert after.exit_record_id == namesake and after.exit_on == left
    assert f"exit of a namesake, record {namesake}, not linked to the person" in after.why
    assert "no date of birth on the exit record" in after.why and "more such" not in after.why
    untouched = [d for d in overdue[1:] if d.display_name != chosen.display_name]
    states = {d.person_id: d.state for d in _departures(database)}
    assert all(states[d.person_id] == DepartureState.OVERDUE for d in untouched)


def test_a_case_granting_voluntary_departure_sets_the_deadline(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    listed = {d.person_id for d in _departures(database)}
    with database.transaction() as session:
        crossed = (
            select(PersonRecord.person_id)
            .join(SourceRecord, SourceRecord.record_id == PersonRecord.record_id)
            .where(SourceRecord.source.in_(["entry_exit", "court"]))
        )
        person_id = session.scalar(
            select(Person.person_id)
            .where(Person.person_id.not_in(crossed), Person.person_id.not_in(listed))
            .order_by(Person.person_id)
            .limit(1)
        )
        assert person_id is not None
        case = Case(
            person_id=person_id,
            state="voluntary_departure",
            version=9,
            opened_by="ann",
            origin={"rule": "analyst", "found": "a test"},
            deadline=dt.date(2025, 6, 1),
        )
        session.add(case)
        session.flush()
        session.add(
            CaseTransition(
                case_id=case.id,
                action="grant_voluntary_departure",
                from_state="hearing",
                to_state="voluntary_departure",
                actor="lee",
                role="legal",
                occurred_at=dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC),
                reason="granted at the hearing",
            )
        )
        case_id = case.id
    with database.transaction() as session:
        earlier = find_departures(session, dt.date(2025, 5, 1), THRESHOLDS)
    pending = next(d for d in earlier if d.person_id == person_id)
    assert pending.state == DepartureState.PENDING and pending.case_id == case_id
    assert pending.granted_on == dt.date(2025, 3, 1) and pending.deadline == dt.date(2025, 6, 1)
    overdue = next(d for d in _departures(database) if d.person_id == person_id)
    assert overdue.state == DepartureState.OVERDUE and f"case {case_id}" in overdue.why


def test_listing_departures_is_audited_and_filtered_by_state(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    since = last_audit_seq(database)
    with database.transaction() as session:
        overdue = list_departures(
            session, actor=ANN, as_of=AS_OF, thresholds=THRESHOLDS, state="overdue"
        )
    assert overdue and {d.state for d in overdue} == {"overdue"}
    with database.transaction() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > since, AuditEvent.action == "list_departures")
        ).one()
        assert event.actor == "ann"
        assert event.details["persons"] == sorted({d.person_id for d in overdue})
        with pytest.raises(InputError, match="'gone' is not a departure state"):
            list_departures(session, actor=ANN, as_of=AS_OF, thresholds=THRESHOLDS, state="gone")
        with pytest.raises(AccessDenied):
            list_departures(
                session,
                actor=Actor("aud", Role.AUDITOR),
                as_of=AS_OF,
                thresholds=THRESHOLDS,
            )


@pytest.fixture
def client(resolved: tuple[Settings, Database]) -> Iterator[TestClient]:
    settings, database = resolved
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def _as(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_the_api_lists_departures_for_casework_roles_only(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    _, database = resolved
    lee = _as(client, "lee")
    listed = client.get("/api/departures", params={"as_of": "2026-01-01"}, headers=lee)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    expected = _departures(database, Thresholds.of(resolved[0]))
    assert [d["person_id"] for d in body] == [d.person_id for d in expected]
    assert {d["state"] for d in body} >= {"verified", "overdue"}
    verified = next(d for d in body if d["state"] == "verified")
    assert verified["exit_record_id"] and verified["exit_on"] and verified["why"]
    only = client.get(
        "/api/departures", params={"as_of": "2026-01-01", "state": "overdue"}, headers=lee
    )
    assert only.status_code == 200 and {d["state"] for d in only.json()} == {"overdue"}
    bad = client.get("/api/departures", params={"state": "gone"}, headers=lee)
    assert bad.status_code == 422
    assert (
        client.get("/api/departures", params={"as_of": "2026-13-01"}, headers=lee).status_code
        == 422
    )
    assert client.get("/api/departures", headers=_as(client, "aud")).status_code == 403
    assert client.get("/api/departures").status_code == 401


def test_the_command_line_prints_departures(
    resolved: tuple[Settings, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, database = resolved
    monkeypatch.setenv("CASELINE_HOME", str(settings.home))
    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url)
    runner = CliRunner()
    monkeypatch.setenv("CASELINE_TOKEN", cli_login(runner, "sam", PASSWORD)["CASELINE_TOKEN"])
    overdue = [d for d in _departures(database, Thresholds.of(settings)) if d.state == "overdue"]
    printed = runner.invoke(cli, ["departures", "--as-of", "2026-01-01", "--state", "overdue"])
    assert printed.exit_code == 0, printed.output
    assert f"{len(overdue):,} departures: {len(overdue):,} overdue" in printed.output
    assert overdue[0].person_id in printed.output
    assert "verified" not in printed.output
    wrong = runner.invoke(cli, ["departures", "--state", "gone"])
    assert wrong.exit_code == 2
    refused = runner.invoke(cli, ["departures"], env=cli_login(runner, "aud", PASSWORD))
    assert refused.exit_code == 2 and "may not list departures" in refused.output
