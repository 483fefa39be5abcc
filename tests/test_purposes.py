"""Purpose bound to work: a profile is read for an open case the reader is assigned to, a
lead being triaged, or a reason in words a supervisor other than the reader countersigned;
junk is refused; the supervisors' list, over the API and the web UI."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from caseline.cases import Lead, file_dispute, find_leads
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, PersonRecord
from caseline.oversight import Actor, Role, create_user
from caseline.server import create_app
from tests.conftest import ADMIN, PASSWORD, last_audit_seq
from tests.web_support import web_sign_in

AS_OF = dt.date(2026, 1, 1)


def _bearer(client: TestClient, username: str) -> dict[str, str]:
    signed = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    return {"Authorization": f"Bearer {signed.json()['token']}"}


def _leads(database: Database) -> list[Lead]:
    with database.transaction() as session:
        leads = [lead for lead in find_leads(session, AS_OF) if lead.open_case is None]
    persons = {lead.person_id for lead in leads}
    assert len(persons) >= 2
    return leads


def _read(client: TestClient, person_id: str, purpose: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.get(
        f"/api/persons/{person_id}",
        params={"purpose": purpose, "as_of": AS_OF.isoformat()},
        headers=headers,
    )


def test_junk_and_foreign_work_are_refused_and_a_lead_allows_its_person(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    lead, *others = _leads(database)
    other = next(x for x in others if x.person_id != lead.person_id)
    with TestClient(create_app(settings, database)) as client:
        ann, lee = _bearer(client, "ann"), _bearer(client, "lee")
        for junk in (".....", "identity review", "a b c d e f g h i j", "x" * 40):
            refused = _read(client, lead.person_id, junk, ann)
            assert refused.status_code == 403 and "purpose" in refused.json()["detail"], junk
        assert _read(client, lead.person_id, f"lead:{lead.lead_id}", ann).status_code == 200
        foreign = _read(client, other.person_id, f"lead:{lead.lead_id}", ann)
        assert foreign.status_code == 403 and "not about person" in foreign.json()["detail"]
        legal = _read(client, lead.person_id, f"lead:{lead.lead_id}", lee)
        assert legal.status_code == 403 and "triages no leads" in legal.json()["detail"]
        assert _read(client, lead.person_id, "case:999999", ann).status_code == 404


def test_a_case_allows_its_person_to_whoever_works_it_while_it_is_open(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    lead, *others = _leads(database)
    other = next(x for x in others if x.person_id != lead.person_id)
    with TestClient(create_app(settings, database)) as client:
        ann, sam = _bearer(client, "ann"), _bearer(client, "sam")
        opened = client.post(
            "/api/cases",
            json={"lead_id": lead.lead_id},
            params={"as_of": AS_OF.isoformat()},
            headers=ann,
        )
        assert opened.status_code == 201, opened.text
        case_id = opened.json()["id"]
        since = last_audit_seq(database)
        assert _read(client, lead.person_id, f"case:{case_id}", ann).status_code == 200
        with database.transaction() as session:
            read = session.scalars(
                select(AuditEvent).where(AuditEvent.seq > since, AuditEvent.action == "read_person")
            ).one()
        assert (read.purpose, read.case_id, read.actor) == (f"case:{case_id}", str(case_id), "ann")
        # The lead has a case now: it is read for the case, not triaged.
        assert _read(client, lead.person_id, f"lead:{lead.lead_id}", ann).status_code == 403
        unassigned = _read(client, lead.person_id, f"case:{case_id}", sam)
        assert unassigned.status_code == 403 and "not assigned" in unassigned.json()["detail"]
        wrong = _read(client, other.person_id, f"case:{case_id}", ann)
        assert wrong.status_code == 403 and "not about person" in wrong.json()["detail"]
        events = client.get(
            f"/api/persons/{lead.person_id}/events",
            params={"purpose": f"case:{case_id}"},
            headers=ann,
        )
        assert events.status_code == 200, events.text


def test_a_reason_in_words_waits_for_a_supervisor_other_than_the_reader(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    person_id = _leads(database)[0].person_id
    reason = "a tip from the field office about this address"
    with TestClient(create_app(settings, database)) as client:
        ann, sam = _bearer(client, "ann"), _bearer(client, "sam")
        waiting = _read(client, person_id, reason, ann)
        assert waiting.status_code == 403 and "countersignature" in waiting.json()["detail"]
        again = _read(client, person_id, reason, ann)  # filed once, however often tried
        assert again.json()["detail"] == waiting.json()["detail"]
        assert client.get("/api/purposes", headers=ann).status_code == 403
        pending = client.get("/api/purposes", headers=sam).json()
        assert [(p["requested_by"], p["scope"], p["purpose"]) for p in pending] == [
            ("ann", f"person:{person_id}", reason)
        ]
        request_id = pending[0]["id"]
        assert f"request {request_id}" in waiting.json()["detail"]
        # A supervisor's own reason is countersigned by another.
        assert _read(client, person_id, "my own reason to look here", sam).status_code == 403
        own = next(
            p for p in client.get("/api/purposes", headers=sam).json() if p["id"] != request_id
        )
        refused = client.post(f"/api/purposes/{own['id']}/countersign", headers=sam)
        assert refused.status_code == 403 and "someone other" in refused.json()["detail"]
        signed = client.post(f"/api/purposes/{request_id}/countersign", headers=sam)
        assert signed.status_code == 200 and signed.json()["decision"] == "countersigned"
        assert (
            client.post(f"/api/purposes/{request_id}/countersign", headers=sam).status_code == 409
        )
        assert _read(client, person_id, reason, ann).status_code == 200
        # The countersignature is for that reader, that person and those words.
        assert _read(client, person_id, reason + " too", ann).status_code == 403
        declined = client.post(
            f"/api/purposes/{own['id']}/decline", json={"reason": "no"}, headers=sam
        )
        assert declined.status_code == 422


def test_the_web_offers_the_readers_work_and_supervisors_countersign(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    lead = _leads(database)[0]
    app = create_app(settings, database)
    ann = web_sign_in(TestClient(app), "ann", PASSWORD)
    sam = web_sign_in(TestClient(app), "sam", PASSWORD)
    opened = ann.post(
        "/cases", data={"lead_id": lead.lead_id, "as_of": AS_OF.isoformat()}, follow_redirects=False
    )
    assert opened.status_code == 303
    case_id = re.search(r"/cases/(\d+)", opened.headers["location"]).group(1)  # type: ignore[union-attr]
    page = ann.get(f"/persons/{lead.person_id}", params={"purpose": "a search for the name"})
    assert page.status_code == 403 and 'id="purpose-choices"' in page.text
    assert f'purpose=case%3A{case_id}"' in page.text
    chosen = ann.get(f"/persons/{lead.person_id}", params={"purpose": f"case:{case_id}"})
    assert chosen.status_code == 200 and 'id="person-name"' in chosen.text
    reason = "checking a letter returned from this address"
    filed = ann.post(
        f"/persons/{lead.person_id}/purpose", data={"purpose": reason}, follow_redirects=True
    )
    assert filed.status_code == 403 and 'id="purpose-pending"' in filed.text
    assert ann.get("/purposes").status_code == 403
    listing = sam.get("/purposes")
    assert listing.status_code == 200 and reason in listing.text
    request_id = re.search(r'data-request-id="(\d+)"', listing.text).group(1)  # type: ignore[union-attr]
    assert ">Purposes</a>" in listing.text
    done = sam.post(f"/purposes/{request_id}/countersign", follow_redirects=False)
    assert done.status_code == 303
    assert reason not in sam.get("/purposes").text
    read = ann.get(f"/persons/{lead.person_id}", params={"purpose": reason})
    assert read.status_code == 200 and 'id="person-name"' in read.text


def test_an_open_dispute_allows_its_person_to_who_filed_it_and_who_reviews_it(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    lead, *others = _leads(database)
    other = next(x for x in others if x.person_id != lead.person_id)
    with database.transaction() as session:
        create_user(session, "liz", Role.LEGAL, PASSWORD, actor=ADMIN)
        create_user(session, "lou", Role.LEGAL, PASSWORD, actor=ADMIN)
        record_id = session.scalars(
            select(PersonRecord.record_id)
            .where(PersonRecord.person_id == lead.person_id)
            .order_by(PersonRecord.record_id)
        ).first()
        assert record_id is not None
        filed = file_dispute(
            session,
            Actor("lee", Role.LEGAL),
            person_id=lead.person_id,
            record_id=record_id,
            kind="not_my_address",
            grounds="the person never lived at this address",
        )
    purpose = f"dispute:{filed.id}"
    with TestClient(create_app(settings, database)) as client:
        lee, liz, lou, ann = (_bearer(client, n) for n in ("lee", "liz", "lou", "ann"))
        since = last_audit_seq(database)
        assert _read(client, lead.person_id, purpose, lee).status_code == 200  # filed it
        assert _read(client, lead.person_id, purpose, liz).status_code == 200  # may take it
        with database.transaction() as session:
            reads = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.seq > since, AuditEvent.action == "read_person")
                .order_by(AuditEvent.seq)
            ).all()
        assert [(e.actor, e.purpose) for e in reads] == [("lee", purpose), ("liz", purpose)]
        analyst = _read(client, lead.person_id, purpose, ann)
        assert analyst.status_code == 403 and "not ann's work" in analyst.json()["detail"]
        foreign = _read(client, other.person_id, purpose, lee)
        assert foreign.status_code == 403 and "not about person" in foreign.json()["detail"]
        taken = client.post(f"/api/disputes/{filed.id}/review", headers=liz)
        assert taken.status_code == 200, taken.text
        # Under review, it is the reviewer's work (and the filer's), no other reviewer's.
        assert _read(client, lead.person_id, purpose, lou).status_code == 403
        assert _read(client, lead.person_id, purpose, liz).status_code == 200
        decided = client.post(
            f"/api/disputes/{filed.id}/decision",
            json={"uphold": False, "reason": "the lease shows the person there"},
            headers=liz,
        )
        assert decided.status_code == 200, decided.text
        closed = _read(client, lead.person_id, purpose, lee)
        assert closed.status_code == 403 and "only an open one" in closed.json()["detail"]
        assert _read(client, lead.person_id, "dispute:999999", lee).status_code == 404
