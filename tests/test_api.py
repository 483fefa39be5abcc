import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from caseline.cases import Lead, find_leads
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, Person
from caseline.server import create_app
from tests.conftest import PASSWORD, last_audit_seq

AS_OF = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def client(resolved: tuple[Settings, Database]) -> Iterator[TestClient]:
    settings, database = resolved
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def _token(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _a_person(database: Database) -> Person:
    with database.transaction() as session:
        person = session.scalars(select(Person).order_by(Person.record_count.desc())).first()
    assert person is not None
    return person


def _a_lead(database: Database) -> Lead:
    """A lead being triaged (no case open on it): reading its person for it changes nothing
    of the shared world but the audit trail."""
    with database.transaction() as session:
        leads = [lead for lead in find_leads(session, AS_OF) if lead.open_case is None]
    assert leads
    return leads[0]


def _audit(database: Database, action: str, after: int) -> list[AuditEvent]:
    """The events of ``action`` written after event ``after``: the test's own."""
    with database.transaction() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.seq > after)
                .order_by(AuditEvent.seq)
            )
        )


def test_search_finds_a_person_by_name_and_is_audited(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    _, database = resolved
    person = _a_person(database)
    given, family = person.display_name.split()[0], person.display_name.split()[-1]
    since = last_audit_seq(database)
    response = client.get(
        "/api/persons",
        params={"name": f"{given.lower()} {family}", "purpose": "case 12 identity check"},
        headers=_token(client, "ann"),
    )
    assert response.status_code == 200
    assert person.person_id in {p["person_id"] for p in response.json()["results"]}
    searches = _audit(database, "search_persons", after=since)
    assert any(person.person_id in e.details["results"] for e in searches)


def test_a_profile_comes_back_with_its_records_and_the_read_is_audited(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    _, database = resolved
    lead = _a_lead(database)
    with database.transaction() as session:
        person = session.get(Person, lead.person_id)
    assert person is not None
    since = last_audit_seq(database)
    response = client.get(
        f"/api/persons/{person.person_id}",
        params={"purpose": f"lead:{lead.lead_id}", "as_of": AS_OF.isoformat()},
        headers=_token(client, "ann"),
    )
    assert response.status_code == 200, response.text
    profile = response.json()
    records = [r for rs in profile["records_by_source"].values() for r in rs]
    assert len(records) == person.record_count
    assert all(
        r["file_name"] and r["line_number"] >= 2 and len(r["file_sha256"]) == 64 for r in records
    )
    assert profile["best_name"] == person.display_name
    reads = [e for e in _audit(database, "read_person", since) if e.object_id == person.person_id]
    assert reads and reads[-1].actor == "ann" and reads[-1].purpose == f"lead:{lead.lead_id}"


def test_a_profile_gives_provenance_assurance_and_address_confidence(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    _, database = resolved
    lead = _a_lead(database)
    with database.transaction() as session:
        person = session.get(Person, lead.person_id)
    assert person is not None
    since = last_audit_seq(database)
    response = client.get(
        f"/api/persons/{person.person_id}",
        params={"purpose": f"lead:{lead.lead_id}", "as_of": "2026-01-01"},
        headers=_token(client, "ann"),
    )
    assert response.status_code == 200, response.text
    profile = response.json()
    record_ids = {r["record_id"] for rs in profile["records_by_source"].values() for r in rs}
    for attribute in ("names", "dates_of_birth", "sexes"):
        for value in profile[attribute]:
            assert set(value["record_ids"]) <= record_ids
            assert value["supporting_records"] == len(value["record_ids"])
    if len(profile["dates_of_birth"]) > 1:
        assert "date of birth" in profile["conflicts"]
    identity = profile["identity"]
    assert 0.0 <= identity["assurance"] <= 1.0
    assert identity["evidence"]["records"] == person.record_count
    addresses = profile["addresses"]
    assert addresses["as_of"] == "2026-01-01" and addresses["addresses"]
    total = sum(a["probability"] for a in addresses["addresses"]) + addresses["unknown"]
    assert total == pytest.approx(1.0, abs=1e-3)
    best = addresses["addresses"][0]
    assert best["probability"] == max(a["probability"] for a in addresses["addresses"])
    assert best["sources"] and best["first_seen"] <= best["last_seen"] <= "2026-01-01"
    reads = [e for e in _audit(database, "read_person", since) if e.object_id == person.person_id]
    assert reads[-1].details["as_of"] == "2026-01-01"


def test_reading_without_a_session_is_refused(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    person = _a_person(resolved[1])
    response = client.get(f"/api/persons/{person.person_id}", params={"purpose": "looking around"})
    assert response.status_code == 401


def test_reading_without_a_purpose_is_refused(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    person = _a_person(resolved[1])
    response = client.get(f"/api/persons/{person.person_id}", headers=_token(client, "ann"))
    assert response.status_code == 422


def test_an_auditor_may_not_read_profiles(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    person = _a_person(resolved[1])
    response = client.get(
        f"/api/persons/{person.person_id}",
        params={"purpose": "audit sampling"},
        headers=_token(client, "aud"),
    )
    assert response.status_code == 403
    assert "auditor" in response.json()["detail"]


def test_an_unknown_person_is_404(client: TestClient) -> None:
    response = client.get(
        "/api/persons/PNOPE",
        params={"purpose": "identity review of a person id"},
        headers=_token(client, "ann"),
    )
    assert response.status_code == 404


def test_a_wrong_password_is_refused(client: TestClient) -> None:
    response = client.post("/api/sessions", json={"username": "ann", "password": "guess"})
    assert response.status_code == 403


def test_the_openapi_document_lists_the_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/persons", "/api/persons/{person_id}", "/api/sessions"} <= set(spec["paths"])


# Routes anyone may reach: signing in and out, the sign-in page, the spec, the stylesheet.
PUBLIC_ROUTES = {
    ("POST", "/api/sessions"), ("DELETE", "/api/sessions"), ("GET", "/login"), ("POST", "/login"),
    ("POST", "/logout"), ("GET", "/openapi.json"), ("HEAD", "/openapi.json"),
}  # fmt: skip


def test_every_other_route_refuses_a_request_without_a_session(client: TestClient) -> None:
    """Walks the app's routes (web pages included), not the OpenAPI document."""
    checked = 0
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        for method in getattr(route, "methods", None) or ():
            path = route.path
            if (method, path) in PUBLIC_ROUTES or path.startswith("/static"):
                continue
            response = client.request(
                method, path.replace("{person_id}", "P1"), follow_redirects=False
            )
            assert response.status_code in (401, 303), (
                f"{method} {path} answered {response.status_code}"
            )
            if response.status_code == 303:
                assert response.headers["location"] == "/login", f"{method} {path}"
            checked += 1
    assert checked >= 4


def test_search_gives_the_match_best_first(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    person = _a_person(resolved[1])
    family = person.display_name.split()[-1]
    headers = _token(client, "ann")

    def found(name: str) -> dict[str, dict[str, object]]:
        response = client.get(
            "/api/persons", params={"name": name, "purpose": "name check for case 12"},
            headers=headers,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        return {p["person_id"]: p for p in response.json()["results"]}

    whole = found(family)[person.person_id]
    assert (whole["match"], whole["match_label"]) == (1.0, "exact")
    start = list(found(family[:4]).values())  # exact holders of that word first, then starts
    assert [p["match"] for p in start] == sorted((p["match"] for p in start), reverse=True)


def test_search_without_a_purpose_is_refused(client: TestClient) -> None:
    response = client.get("/api/persons", params={"name": "maria"}, headers=_token(client, "ann"))
    assert response.status_code == 422


def test_the_web_pages_redirect_to_sign_in(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"


@pytest.mark.parametrize("person_id", ["P" + "9" * 64, "x" * 300, "P%00"])
def test_an_id_of_any_length_is_a_404_never_a_server_error(
    client: TestClient, person_id: str
) -> None:
    response = client.get(
        f"/api/persons/{person_id}",
        params={"purpose": "an identity check of this person"},
        headers=_token(client, "ann"),
    )
    # Unknown (404), or on PostgreSQL a NUL no text column takes (422): never a 500.
    assert response.status_code in (404, 422), response.text
    if response.status_code == 422:
        assert "NUL" in response.json()["detail"]


def test_a_body_that_is_not_text_is_refused_as_any_bad_body_is(client: TestClient) -> None:
    """Bytes that are not UTF-8 cannot be JSON: a 422 naming the body, as the API declares."""
    for body in (b"\xff\xfe\x00{", b'{"reason": "not closed'):
        response = client.post(
            "/api/cases",
            content=body,
            headers={**_token(client, "ann"), "Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert [e["loc"][0] for e in response.json()["detail"]] == ["body"]
