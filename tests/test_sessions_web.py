"""Sessions in the browser and the API: cookies, CSRF on reads and changes, sign-in CSRF,
sign-out, idle expiry, security headers and no-store, refusals audited, a landing page for
every role."""

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, UserSession
from caseline.oversight import Role, create_user, disable_user
from caseline.server import create_app
from tests.conftest import ADMIN
from tests.web_support import csrf_of, login_token, web_sign_in

PASSWORD = "a long password"
ROLES = {"ann": Role.ANALYST, "aud": Role.AUDITOR, "root": Role.ADMIN, "eng": Role.DATA_ENGINEER}
SEARCH = {"name": "maria", "purpose": "name check for case 12"}


@pytest.fixture
def app_db(settings: Settings, database: Database) -> tuple[TestClient, Database]:
    with database.transaction() as session:
        for name, role in ROLES.items():
            create_user(session, name, role, PASSWORD, actor=ADMIN)
    return TestClient(create_app(settings, database)), database


@pytest.fixture
def client(app_db: tuple[TestClient, Database]) -> Iterator[TestClient]:
    with app_db[0] as client:
        yield client


def _refusals(database: Database) -> list[tuple[str, str, int]]:
    with database.transaction() as session:
        query = select(AuditEvent).where(AuditEvent.action == "request_refused")
        events = session.scalars(query.order_by(AuditEvent.seq))
        return [(e.actor, e.object_id or "", e.details["status"]) for e in events]


def test_every_response_has_the_security_headers_and_pages_are_not_stored(
    client: TestClient,
) -> None:
    for response in (client.get("/login"), client.get("/api/persons", params=SEARCH)):
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["cache-control"] == "no-store"
    web_sign_in(client, "ann", PASSWORD)
    assert client.get("/").headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/static/caseline.css").headers.get("cache-control", "")


def test_the_session_cookie_is_http_only_strict_and_secure_when_set(
    settings: Settings, app_db: tuple[TestClient, Database]
) -> None:
    secure = settings.model_copy(update={"cookie_secure": True})
    client = TestClient(create_app(secure, app_db[1]), base_url="https://testserver")
    client.headers["Origin"] = "https://testserver"
    response = client.post(
        "/login",
        data={"username": "ann", "password": PASSWORD, "login_token": login_token(client)},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"].lower()
    assert "caseline_session=" in cookie
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie
    assert "max-age=" in response.headers.get("strict-transport-security", "max-age=")


def test_sign_in_needs_the_forms_own_token(
    client: TestClient, app_db: tuple[TestClient, Database]
) -> None:
    """Login CSRF: a form on another page, without the token its cookie repeats, signs no
    one in; nor does one from another origin with a stolen token."""
    bare = client.post(
        "/login", data={"username": "ann", "password": PASSWORD}, follow_redirects=False
    )
    assert bare.status_code == 403 and "caseline_session" not in bare.headers.get("set-cookie", "")
    token = login_token(client)
    other = TestClient(client.app)
    foreign = other.post(
        "/login",
        data={"username": "ann", "password": PASSWORD, "login_token": token},
        follow_redirects=False,
    )
    assert foreign.status_code == 403
    cross = client.post(
        "/login",
        data={"username": "ann", "password": PASSWORD, "login_token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert cross.status_code == 403
    assert [r[1] for r in _refusals(app_db[1])] == ["/login"] * 3


def test_a_cookie_api_read_needs_the_csrf_token_and_a_bearer_does_not(
    client: TestClient, app_db: tuple[TestClient, Database]
) -> None:
    web_sign_in(client, "ann", PASSWORD)
    forged = client.get("/api/persons", params=SEARCH)
    assert forged.status_code == 403 and "X-CSRF-Token" in forged.json()["detail"]
    assert ("ann", "/api/persons", 403) in _refusals(app_db[1])
    token = csrf_of(client.get("/").text)
    assert (
        client.get("/api/persons", params=SEARCH, headers={"X-CSRF-Token": token}).json()["total"]
        == 0
    )
    wrong = client.get("/api/persons", params=SEARCH, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    bearer = TestClient(client.app).post(
        "/api/sessions", json={"username": "ann", "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {bearer.json()['token']}"}
    assert (
        TestClient(client.app).get("/api/persons", params=SEARCH, headers=headers).json()["total"]
        == 0
    )


def test_another_site_cannot_use_the_cookie_even_to_read_a_page(client: TestClient) -> None:
    web_sign_in(client, "ann", PASSWORD)
    assert client.get("/").status_code == 200
    for site in ("same-site", "cross-site"):
        assert client.get("/", headers={"Sec-Fetch-Site": site}).status_code == 403
    assert client.get("/", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200


def test_a_change_from_another_origin_is_refused(client: TestClient) -> None:
    web_sign_in(client, "ann", PASSWORD)
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}):
        response = client.post("/cases", data={"lead": "x"}, headers=headers)
        assert response.status_code == 403, response.text
    del client.headers["Origin"]
    assert client.post("/cases", data={"lead": "x"}).status_code == 403  # no Origin at all


def test_sign_out_needs_its_token_and_ends_the_session_on_the_server(client: TestClient) -> None:
    web_sign_in(client, "ann", PASSWORD)
    cookie = client.cookies["caseline_session"]
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.get("/").status_code == 200  # still signed in
    token = csrf_of(client.get("/").text)
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    replay = TestClient(client.app, cookies={"caseline_session": cookie})
    assert replay.get("/", follow_redirects=False).headers["location"] == "/login"


def test_an_idle_session_ends_and_expired_ones_are_removed(
    client: TestClient, app_db: tuple[TestClient, Database]
) -> None:
    database = app_db[1]
    web_sign_in(client, "ann", PASSWORD)
    assert client.get("/").status_code == 200
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
    with database.transaction() as session:
        session.execute(update(UserSession).values(last_seen_at=old))
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    web_sign_in(TestClient(client.app), "aud", PASSWORD)  # signing in sweeps the dead ones
    with database.transaction() as session:
        assert (
            session.scalar(select(UserSession.last_seen_at).where(UserSession.last_seen_at <= old))
            is None
        )
        assert len(session.scalars(select(UserSession)).all()) == 1


def test_disabling_a_user_ends_their_sessions(
    client: TestClient, app_db: tuple[TestClient, Database]
) -> None:
    web_sign_in(client, "ann", PASSWORD)
    with app_db[1].transaction() as session:
        assert disable_user(session, "ann", actor=ADMIN) == 1
    assert client.get("/", follow_redirects=False).status_code == 303
    refused = TestClient(client.app).post(
        "/api/sessions", json={"username": "ann", "password": PASSWORD}
    )
    assert (
        refused.status_code == 403 and refused.json()["detail"] == "unknown user or wrong password"
    )


@pytest.mark.parametrize(
    ("username", "role", "can"),
    [
        ("aud", "auditor", "Verify the audit chain"),
        ("root", "admin", "Add, list, disable and reset users"),
        ("eng", "data engineer", "Ingest source files"),
    ],
)
def test_every_role_lands_on_a_page_it_may_use(
    client: TestClient, username: str, role: str, can: str
) -> None:
    web_sign_in(client, username, PASSWORD)
    page = client.get("/")
    assert page.status_code == 200
    assert f"Signed in as {username}" in page.text and role in page.text and can in page.text
    assert 'action="/logout"' in page.text and 'name="csrf_token"' in page.text
    refused = client.get("/leads")
    assert refused.status_code == 403
    assert 'action="/logout"' in refused.text and f"{username} ({role})" in refused.text


def test_a_refused_request_is_audited(
    client: TestClient, app_db: tuple[TestClient, Database]
) -> None:
    assert client.get("/api/persons", params=SEARCH).status_code == 401
    web_sign_in(client, "aud", PASSWORD)
    assert client.get("/leads").status_code == 403
    assert _refusals(app_db[1]) == [("anonymous", "/api/persons", 401), ("aud", "/leads", 403)]


def test_too_many_failures_answer_429_with_retry_after(
    client: TestClient, app_db: tuple[TestClient, Database]
) -> None:
    answers = [
        client.post("/api/sessions", json={"username": "ann", "password": f"wrong guess {n}"})
        for n in range(3)
    ]
    assert [a.status_code for a in answers] == [403, 403, 429]
    assert int(answers[-1].headers["retry-after"]) >= 1
    with app_db[1].transaction() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("sign_in_failed") == 3 and "request_refused" not in actions
