"""The profile, journey 2 of issue 22: each record as ingested (package, API and page), the
conflicts in words, what lowers identity assurance, addresses for and against, the timeline,
and the as-of control."""

import datetime as dt
import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caseline.cases import Lead, find_leads
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, PersonRecord, RecordValueIssue, SourceRecord
from caseline.errors import NotFoundError
from caseline.profiles import build_profile, person_timeline, record_details, records_details
from caseline.server import create_app
from tests.conftest import PASSWORD, last_audit_seq
from tests.web_support import web_sign_in

AS_OF = dt.date(2026, 1, 1)


def _lead(database: Database, *, conflicting: bool = False) -> Lead:
    """A lead nobody opened a case on (reading for it changes only the audit trail); with
    ``conflicting``, one whose person has two dates of birth."""
    with database.transaction() as session:
        for lead in find_leads(session, AS_OF):
            if lead.open_case is not None:
                continue
            profile = build_profile(session, lead.person_id, AS_OF)
            if not conflicting or len(profile.dates_of_birth) > 1:
                return lead
    raise AssertionError("the small world has no such lead")


def _other_persons_record(database: Database, person_id: str) -> str:
    with database.transaction() as session:
        found = session.scalar(
            select(PersonRecord.record_id).where(PersonRecord.person_id != person_id).limit(1)
        )
    assert found is not None
    return found


def _add_issue(database: Database, record_id: str) -> None:
    with database.transaction() as session:
        record = session.get(SourceRecord, record_id)
        assert record is not None
        session.add(
            RecordValueIssue(
                ingest_run_id=record.ingest_run_id, record_id=record_id,
                line_number=record.line_number, field="date_of_birth",
                reason="not a date: month 13", value="1980-13-01",
            )
        )  # fmt: skip


@pytest.fixture
def api(resolved: tuple[Settings, Database]) -> Iterator[TestClient]:
    with TestClient(create_app(*resolved)) as client:
        yield client


def _token(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_a_record_comes_as_ingested_with_its_provenance(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    lead = _lead(database)
    with database.transaction() as session:
        profile = build_profile(session, lead.person_id, AS_OF)
        shown = profile.records[0]
        details = record_details(session, lead.person_id, shown.record_id)
        stored = session.get(SourceRecord, shown.record_id)
        assert stored is not None
        every = records_details(session, lead.person_id, [r.record_id for r in profile.records])
    assert (details.source, details.source_key, details.line_number) == (
        shown.source, shown.source_key, shown.line_number,
    )  # fmt: skip
    assert (details.file_name, details.file_sha256) == (shown.file_name, shown.file_sha256)
    assert details.name_as_stated == stored.full_name_raw
    assert details.address_as_stated == stored.address_raw
    fields = dict(details.fields)
    assert fields.get("family_name") == stored.family_name
    if stored.date_of_birth:
        assert fields["date_of_birth"] == stored.date_of_birth.isoformat()
    if stored.ssn_hash:  # a fingerprint of the keyed hash, never the hash
        assert fields["ssn"] == f"#{stored.ssn_hash[:10]}" != stored.ssn_hash
    assert details.issues == ()
    assert set(every) == {r.record_id for r in profile.records}
    # Only the values a record holds: no empty field shown as "None".
    assert all(value not in ("None", "") for d in every.values() for _, value in d.fields)


def test_another_persons_record_is_not_found(resolved: tuple[Settings, Database]) -> None:
    _, database = resolved
    lead = _lead(database)
    other = _other_persons_record(database, lead.person_id)
    with database.transaction() as session:
        with pytest.raises(NotFoundError, match=other):
            record_details(session, lead.person_id, other)
        assert records_details(session, lead.person_id, [other]) == {}


def test_the_values_left_out_of_a_record_come_with_it(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    lead = _lead(database)
    with database.transaction() as session:
        record_id = build_profile(session, lead.person_id, AS_OF).records[0].record_id
    _add_issue(database, record_id)
    with database.transaction() as session:
        issues = record_details(session, lead.person_id, record_id).issues
    assert [(i.field, i.reason, i.value) for i in issues] == [
        ("date_of_birth", "not a date: month 13", "1980-13-01")
    ]


def test_the_timeline_is_in_date_order_with_every_record_and_event(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    lead = _lead(database)
    with database.transaction() as session:
        profile = build_profile(session, lead.person_id, AS_OF)
        details = records_details(session, lead.person_id, [r.record_id for r in profile.records])
    timeline = person_timeline(profile, details)
    assert profile.status is not None
    assert len(timeline) == (
        len(profile.records) + len(profile.status.evidence) + len(profile.status.border)
    )
    dated = [t.on for t in timeline if t.on is not None]
    assert dated == sorted(dated)
    undated = [t.on is None for t in timeline]
    assert undated == sorted(undated)  # the undated last
    assert {t.record_id for t in timeline if t.kind == "record"} == set(details)


def test_the_api_gives_a_record_for_the_purpose_and_audits_the_read(
    api: TestClient, resolved: tuple[Settings, Database]
) -> None:
    _, database = resolved
    lead = _lead(database)
    with database.transaction() as session:
        record_id = build_profile(session, lead.person_id, AS_OF).records[0].record_id
    since = last_audit_seq(database)
    response = api.get(
        f"/api/persons/{lead.person_id}/records/{record_id}",
        params={"purpose": f"lead:{lead.lead_id}"},
        headers=_token(api, "ann"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["record_id"] == record_id and body["issues"] == []
    assert len(body["file_sha256"]) == 64 and body["line_number"] >= 1
    with database.transaction() as session:
        reads = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "read_person", AuditEvent.seq > since)
            .order_by(AuditEvent.seq)
        ).all()
    assert [(e.actor, e.object_id, e.purpose) for e in reads] == [
        ("ann", lead.person_id, f"lead:{lead.lead_id}")
    ]


def test_the_api_refuses_another_persons_record_a_missing_purpose_and_an_auditor(
    api: TestClient, resolved: tuple[Settings, Database]
) -> None:
    _, database = resolved
    lead = _lead(database)
    other = _other_persons_record(database, lead.person_id)
    path = f"/api/persons/{lead.person_id}/records/{other}"
    ann = _token(api, "ann")
    purpose = {"purpose": f"lead:{lead.lead_id}"}
    assert api.get(path, params=purpose, headers=ann).status_code == 404
    assert api.get(path, headers=ann).status_code == 422
    assert api.get(path, params=purpose, headers=_token(api, "aud")).status_code == 403


def _page(client: TestClient, lead: Lead, as_of: dt.date | None = None) -> str:
    params = {"purpose": f"lead:{lead.lead_id}"}
    if as_of:
        params["as_of"] = as_of.isoformat()
    response = client.get(f"/persons/{lead.person_id}", params=params)
    assert response.status_code == 200, response.text
    return response.text


def test_the_page_has_a_drawer_per_record_a_timeline_and_an_as_of_control(
    resolved: tuple[Settings, Database],
) -> None:
    settings, database = resolved
    lead = _lead(database, conflicting=True)
    with database.transaction() as session:
        profile = build_profile(session, lead.person_id, AS_OF)
    with TestClient(create_app(settings, database)) as client:
        web_sign_in(client, "ann", PASSWORD)
        text = _page(client, lead, AS_OF)
        later = _page(client, lead, dt.date(2026, 6, 30))
    for record in profile.records:
        assert f'id="record-{record.record_id}"' in text
        assert f'href="#record-{record.record_id}"' in text  # from the values and timeline
    assert text.count('class="value-issues none">none</p>') == len(profile.records)
    # The conflict in words, with both values.
    assert "Conflict: 2 values" in text or "Conflict: 3 values" in text
    for value in profile.dates_of_birth:
        assert value.value.isoformat() in text
    assert "Lowered by" in text or "Not lowered by" in text
    assert "<strong>Unknown</strong>" in text and "Against:" in text
    # The timeline, oldest first.
    days = re.findall(r'<li data-kind="\w+" data-on="([\d-]*)">', text)
    assert days and [d for d in days if d] == sorted(d for d in days if d)
    # The as-of form keeps the purpose and re-reads the addresses for its day.
    form = re.search(r'<form method="get"[^>]*id="as-of".*?</form>', text, re.S)
    assert form is not None
    assert f'name="purpose" value="{html.escape(f"lead:{lead.lead_id}")}"' in form.group(0)
    assert 'value="2026-01-01"' in form.group(0)
    assert "current residence on 2026-01-01" in text
    assert "current residence on 2026-06-30" in later


def test_the_page_shows_a_records_values_left_out(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    lead = _lead(database)
    with database.transaction() as session:
        record_id = build_profile(session, lead.person_id, AS_OF).records[0].record_id
    _add_issue(database, record_id)
    with TestClient(create_app(settings, database)) as client:
        web_sign_in(client, "ann", PASSWORD)
        text = _page(client, lead, AS_OF)
    drawer = re.search(rf'id="record-{record_id}".*?</details>', text, re.S)
    assert drawer is not None
    assert "1980-13-01" in drawer.group(0) and "not a date: month 13" in drawer.group(0)
