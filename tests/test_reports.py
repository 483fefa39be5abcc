"""The oversight reports: what each counts, that reading one is audited, that only auditors
and admins read them, and that they show ids and counts, never a person's name."""

import csv
import datetime as dt
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caseline.cases import (
    REPORTS,
    DisputeState,
    Thresholds,
    decide_dispute,
    file_dispute,
    read_report,
    start_review,
    take_step,
)
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, Dispute, Person, PersonRecord, SourceRecord
from caseline.errors import AccessDenied, InputError, NotFoundError
from caseline.oversight import Actor, Period, Report, Role
from caseline.oversight.audit import AuditEntry, record_event
from caseline.resolve import evaluate_resolution
from caseline.server import create_app
from caseline.synth import WorldSummary
from tests.case_pages import ANN, AS_OF, lead_case
from tests.conftest import PASSWORD, last_audit_seq

AUD = Actor("aud", Role.AUDITOR)
LEE = Actor("lee", Role.LEGAL)  # files disputes, for the person
LIZ = Actor("liz", Role.LEGAL)  # reviews them
ENGINEER = Actor("test-operator", Role.DATA_ENGINEER)


def _today() -> dt.date:
    """Today in UTC, read when a test runs (a run may cross midnight after this imports)."""
    return dt.datetime.now(dt.UTC).date()


def _read(settings: Settings, database: Database, name: str, **period: dt.date | None) -> Report:
    with database.transaction() as session:
        return read_report(
            session,
            name,
            actor=AUD,
            period=Period.of(period.get("start"), period.get("end")),
            thresholds=Thresholds.of(settings),
        )


def _events(database: Database, action: str, after: int) -> list[AuditEvent]:
    with database.transaction() as session:
        query = select(AuditEvent).where(AuditEvent.action == action, AuditEvent.seq > after)
        return list(session.scalars(query.order_by(AuditEvent.seq)))


def _a_person(database: Database) -> Person:
    with database.transaction() as session:
        most_records = select(Person).order_by(Person.record_count.desc(), Person.person_id)
        person = session.scalars(most_records).first()
    assert person is not None
    return person


@pytest.fixture(scope="module")
def client(resolved: tuple[Settings, Database]) -> Iterator[TestClient]:
    settings, database = resolved
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def _bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_every_report_reads_and_is_audited_once(resolved: tuple[Settings, Database]) -> None:
    settings, database = resolved
    before = _today()
    since = last_audit_seq(database)
    for name in REPORTS:
        report = _read(settings, database, name)
        assert report.name == name and all(len(r) == len(report.columns) for r in report.rows)
    events = _events(database, "read_report", since)
    assert [e.object_id for e in events] == list(REPORTS)
    assert {(e.actor, e.role) for e in events} == {("aud", "auditor")}
    assert events[0].details["date_to"] in {day.isoformat() for day in (before, _today())}


def test_only_auditors_and_admins_read_reports(resolved: tuple[Settings, Database]) -> None:
    settings, database = resolved
    since = last_audit_seq(database)
    for role in (Role.ANALYST, Role.SUPERVISOR, Role.LEGAL, Role.DATA_ENGINEER):
        with pytest.raises(AccessDenied), database.transaction() as session:
            read_report(
                session,
                "reads-by-user",
                actor=Actor("someone", role),
                period=Period.of(),
                thresholds=Thresholds.of(settings),
            )
    assert _events(database, "read_report", since) == []
    with pytest.raises(NotFoundError, match="reads-by-user"):
        _read(settings, database, "everything")


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(InputError, match="after it ends"):
        Period.of(dt.date(2026, 2, 1), dt.date(2026, 1, 1))


def _seed_read(
    database: Database, user: str, person_id: str, purpose: str, case_id: str | None = None
) -> None:
    """A read of a person on the trail, as the profile's entry point records it (the
    reports read only the trail; the purpose rules are tested where they are kept)."""
    with database.transaction() as session:
        record_event(
            session,
            AuditEntry(
                actor=user,
                role="analyst",
                action="read_person",
                object_type="person",
                object_id=person_id,
                purpose=purpose,
                case_id=case_id,
                details={"as_of": "2026-01-01", "lead_records": []},
            ),
        )


def test_who_looked_at_whom_counts_reads_by_user_person_and_purpose(
    resolved: tuple[Settings, Database],
) -> None:
    settings, database = resolved
    # The shared world's trail keeps what other modules recorded: readers only this test uses.
    person = _a_person(database)
    purpose = f"report check of {person.person_id} for review"
    _seed_read(database, "ruth", person.person_id, purpose)
    _seed_read(database, "ruth", person.person_id, f"case:{person.person_id}", case_id="7")
    _seed_read(database, "omar", person.person_id, purpose)
    by_user = {r["user"]: r for r in _read(settings, database, "reads-by-user").records()}
    assert by_user["ruth"] == {
        "user": "ruth", "role": "analyst", "reads": 2, "persons": 1, "without_case": 1,
        "purposes": 2, "searches": 0,
    }  # fmt: skip
    by_person = {r["person_id"]: r for r in _read(settings, database, "reads-by-person").records()}
    assert {"ruth", "omar"} <= set(str(by_person[person.person_id]["users"]).split(", "))
    by_purpose = {r["purpose"]: r for r in _read(settings, database, "reads-by-purpose").records()}
    assert by_purpose[purpose] == {
        "purpose": purpose, "reads": 2, "users": 2, "persons": 1, "without_case": 2,
    }  # fmt: skip
    without = _read(settings, database, "reads-without-case").records()
    assert [r["user"] for r in without[:2]] == ["omar", "ruth"]  # newest first
    assert without[0]["person_id"] == person.person_id and without[0]["purpose"] == purpose
    # No report names the person: ids and counts only.
    for name in REPORTS:
        assert person.display_name not in _read(settings, database, name).csv()


def test_a_period_before_the_reads_has_none(resolved: tuple[Settings, Database]) -> None:
    settings, database = resolved
    old = dt.date(2000, 1, 1)
    assert _read(settings, database, "reads-by-user", start=old, end=old).rows == ()


def test_refused_attempts_list_refusals_and_failed_sign_ins(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    settings, database = resolved
    refused = client.get(
        "/api/persons/P1", params={"purpose": "curious auditor"}, headers=_bearer(client, "aud")
    )
    assert refused.status_code == 403
    wrong = client.post("/api/sessions", json={"username": "nobody-here", "password": "guess"})
    assert wrong.status_code in (403, 429)
    rows = _read(settings, database, "refused-attempts").records()
    assert any(r["user"] == "aud" and r["what"] == "GET /api/persons/P1" for r in rows)
    assert any(r["kind"] == "sign_in_failed" and r["what"] == "nobody-here" for r in rows)


def test_accuracy_per_group_comes_from_the_last_evaluation(
    resolved: tuple[Settings, Database], small_world: WorldSummary
) -> None:
    settings, database = resolved
    with database.transaction() as session:
        scores = evaluate_resolution(session, small_world.truth_file, actor=ENGINEER)
    rows = {r["group"]: r for r in _read(settings, database, "accuracy-by-group").records()}
    assert rows["all"]["f1"] == round(scores.f1, 6)
    assert set(rows) == {"all", *scores.by_group}
    group = sorted(scores.by_group)[0]
    assert rows[group]["records"] == scores.by_group[group].records
    assert "persons: event" in _read(settings, database, "accuracy-by-group").note


def test_case_reports_count_states_guards_and_overdue_departures(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    case_id = lead_case(database)
    today = _today()  # the day the case opened, whose week the guard stops are counted in
    with database.transaction() as session:
        take_step(
            session, case_id, "begin_review", actor=ANN, expected_version=1,
            fields={"reason": "the stay ended with no exit"},
            thresholds=Thresholds.of(settings), as_of=AS_OF,
        )  # fmt: skip
    states = {r["state"]: r for r in _read(settings, database, "cases-by-state").records()}
    assert states["identity_review"]["cases"] == 1
    assert states["identity_review"]["under_30_days"] == 1
    # No identity is assured enough for a threshold above 1: the next step is held.
    with database.transaction() as session:
        held = read_report(
            session,
            "guard-stops",
            actor=AUD,
            period=Period.of(),
            thresholds=Thresholds(identity=1.01, address=settings.address_threshold),
        ).records()
        by_week = read_report(
            session,
            "guard-stops-by-week",
            actor=AUD,
            period=Period.of(),
            thresholds=Thresholds(identity=1.01, address=settings.address_threshold),
        ).records()
    guards = {r["guard"]: r for r in held}
    assert guards["identity_assurance"]["open_cases_held"] == 1
    assert guards["identity_assurance"]["case_ids"] == str(case_id)
    assert "two_people" not in guards and "identity_seen" not in guards  # who acts
    monday = today - dt.timedelta(days=today.weekday())
    assert by_week == [
        {"week_of": monday.isoformat(), "open_cases": 1, "held": 1,
         **{g: int(r["open_cases_held"] or 0) for g, r in guards.items()}}
    ]  # fmt: skip
    assert by_week[0]["identity_assurance"] == 1
    overdue = _read(settings, database, "overdue-departures", end=AS_OF).records()
    assert overdue and all(int(str(r["days_overdue"])) > 0 for r in overdue)
    assert all(dt.date.fromisoformat(str(r["deadline"])) < AS_OF for r in overdue)


def test_the_api_answers_json_and_csv_for_auditors_only(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    auditor = _bearer(client, "aud")
    today = _today()
    listed = client.get("/api/reports", headers=auditor)
    assert listed.status_code == 200 and [r["name"] for r in listed.json()] == list(REPORTS)
    body = client.get(
        "/api/reports/reads-by-user", params={"from": "2020-01-01"}, headers=auditor
    ).json()
    assert body["from"] == "2020-01-01" and body["to"] in {today.isoformat(), _today().isoformat()}
    assert body["columns"][0] == "user"
    got = client.get("/api/reports/cases-by-state", params={"format": "csv"}, headers=auditor)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert "attachment" in got.headers["content-disposition"]
    assert next(csv.reader(io.StringIO(got.text)))[:2] == ["state", "cases"]
    backwards = {"from": "2026-02-01", "to": "2026-01-01"}
    refused = client.get("/api/reports/reads-by-user", params=backwards, headers=auditor)
    assert refused.status_code == 422
    assert client.get("/api/reports/nope", headers=auditor).status_code == 404
    analyst = _bearer(client, "ann")
    assert client.get("/api/reports/reads-by-user", headers=analyst).status_code == 403
    assert client.get("/api/reports").status_code == 401


def test_csv_defuses_what_a_spreadsheet_would_run(resolved: tuple[Settings, Database]) -> None:
    settings, database = resolved
    formula = '=HYPERLINK("http://example.invalid") read for the review'
    _seed_read(database, "rita", _a_person(database).person_id, formula)
    text = _read(settings, database, "reads-by-purpose").csv()
    cells = [row[0] for row in csv.reader(io.StringIO(text))]
    assert "'" + formula in cells and formula not in cells


def _records_with_addresses(database: Database, person_id: str) -> list[str]:
    with database.transaction() as session:
        return list(
            session.scalars(
                select(SourceRecord.record_id)
                .join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
                .where(PersonRecord.person_id == person_id, SourceRecord.street.is_not(None))
                .order_by(SourceRecord.record_id)
            )
        )


def test_the_disputes_report_counts_kinds_states_and_days_to_decision(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    """Four disputes the test files itself, filed 10, 6, 3 and 1 days ago: one upheld after
    4 days, one rejected after 2, one under review and one still filed."""
    settings, database = mutable_resolved
    person = _a_person(database)
    records = _records_with_addresses(database, person.person_id)
    assert len(records) >= 3
    now = dt.datetime.now(dt.UTC)
    today = now.date()
    claims = [  # kind, record, filed days ago, days to decision
        ("not_me", records[0], 10, 4.0),  # upheld
        ("not_my_address", records[1], 6, 2.0),  # rejected
        ("not_my_address", records[2], 3, None),  # under review
        ("status", records[0], 1, None),  # filed
    ]
    ids = []
    for kind, record_id, _, _ in claims:
        with database.transaction() as session:
            filed = file_dispute(
                session, LEE, person_id=person.person_id, record_id=record_id, kind=kind,
                grounds="the person says this is not so", document="card 1234",
                value="permanent_resident",
            )  # fmt: skip
            ids.append(filed.id)
    for dispute_id in ids[:3]:
        with database.transaction() as session:
            start_review(session, LIZ, dispute_id)
    for dispute_id, uphold in ((ids[0], True), (ids[1], False)):
        with database.transaction() as session:
            decided = decide_dispute(session, LIZ, dispute_id, uphold=uphold,
                                     reason="checked against the document")  # fmt: skip
        assert decided.state is (DisputeState.UPHELD if uphold else DisputeState.REJECTED)
    with database.transaction() as session:  # back-dated, as if filed over the last days
        for dispute_id, (_, _, ago, took) in zip(ids, claims, strict=True):
            row = session.get(Dispute, dispute_id)
            assert row is not None
            row.filed_at = now - dt.timedelta(days=ago)
            row.review_started_at = row.filed_at if row.review_started_at else None
            if took is not None:
                row.decided_at = row.filed_at + dt.timedelta(days=took)
    report = _read(settings, database, "disputes", start=today - dt.timedelta(days=30), end=today)
    rows = {r["kind"]: r for r in report.records()}
    assert set(rows) == {"not_me", "not_my_address", "status", "all"}
    assert rows["not_me"] == {
        "kind": "not_me", "disputes": 1, "filed": 0, "under_review": 0, "upheld": 1,
        "rejected": 0, "median_open_days": None, "oldest_open_days": None,
        "median_days_to_decision": 4.0, "max_days_to_decision": 4.0,
    }  # fmt: skip
    address = rows["not_my_address"]
    assert (address["disputes"], address["under_review"], address["rejected"]) == (2, 1, 1)
    assert address["max_days_to_decision"] == 2.0
    end_of_today = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    waited = round((end_of_today - (now - dt.timedelta(days=3))).total_seconds() / 86400, 1)
    assert address["oldest_open_days"] == waited
    everything = rows["all"]
    assert (everything["disputes"], everything["filed"], everything["upheld"]) == (4, 1, 1)
    assert everything["median_days_to_decision"] == 3.0  # of 4 and 2
    assert everything["max_days_to_decision"] == 4.0
    # Ids and counts only: no person, record or name.
    text = report.csv()
    assert person.person_id not in text and person.display_name not in text
    assert not any(record_id in text for record_id in records)
    # At the end of a period before the decisions, the decided ones were still open.
    earlier = _read(settings, database, "disputes", end=today - dt.timedelta(days=7))
    (only,) = [r for r in earlier.records() if r["kind"] == "not_me"]
    assert (only["disputes"], only["under_review"], only["upheld"]) == (1, 1, 0)
    assert [r["kind"] for r in earlier.records()] == ["not_me", "all"]
    old = dt.date(2000, 1, 1)
    assert _read(settings, database, "disputes", start=old, end=old).rows == ()
