from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, Person
from caseline.oversight import Role, create_user
from caseline.server import create_app

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def client(resolved: tuple[Settings, Database]) -> Iterator[TestClient]:
    settings, database = resolved
    with database.transaction() as session:
        create_user(session, "ann", Role.ANALYST, PASSWORD)
        create_user(session, "aud", Role.AUDITOR, PASSWORD)
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


def _audit(database: Database, action: str) -> list[AuditEvent]:
    with database.transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_search_finds_a_person_by_name_and_is_audited(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    _, database = resolved
    person = _a_person(database)
    given, family = person.display_name.split()[0], person.display_name.split()[-1]
    response = client.get(
        "/api/persons", params={"name": f"{given.lower()} {family}"}, headers=_token(client, "ann")
    )
    assert response.status_code == 200
    assert person.person_id in {p["person_id"] for p in response.json()}
    assert any(person.person_id in e.details["results"] for e in _audit(database, "search_persons"))


def test_a_profile_comes_back_with_its_records_and_the_read_is_audited(
    client: TestClient, resolved: tuple[Settings, Database]
) -> None:
    _, database = resolved
    person = _a_person(database)
    response = client.get(
        f"/api/persons/{person.person_id}",
        params={"purpose": "identity review for case 7"},
        headers=_token(client, "ann"),
    )
    assert response.status_code == 200
    profile = response.json()
    records = [r for rs in profile["records_by_source"].values() for r in rs]
    assert len(records) == person.record_count
    assert all(
        r["file_name"] and r["line_number"] >= 2 and len(r["file_sha256"]) == 64 for r in records
    )
    assert profile["best_name"] == person.display_name
    reads = [e for e in _audit(database, "read_person") if e.object_id == person.person_id]
    assert reads and reads[-1].actor == "ann" and reads[-1].purpose == "identity review for case 7"


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
        "/api/persons/PNOPE", params={"purpose": "identity review"}, headers=_token(client, "ann")
    )
    assert response.status_code == 404


def test_a_wrong_password_is_refused(client: TestClient) -> None:
    response = client.post("/api/sessions", json={"username": "ann", "password": "guess"})
    assert response.status_code == 403


def test_the_openapi_document_lists_the_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/persons", "/api/persons/{person_id}", "/api/sessions"} <= set(spec["paths"])


def test_every_api_route_except_sign_in_requires_a_session(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, methods in spec["paths"].items():
        for method in methods:
            if path == "/api/sessions":
                continue
            response = client.request(method.upper(), path.replace("{person_id}", "P1"))
            assert response.status_code == 401, (
                f"{method.upper()} {path} answered {response.status_code}"
            )


def test_the_web_pages_redirect_to_sign_in(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
