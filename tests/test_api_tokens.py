"""API tokens for scripts: made by admins and shown once, stored hashed, a named service
identity with at most its role, expiring and revocable, every use audited; the OpenAPI
document declares the schemes and the refusals."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import ApiToken, AuditEvent
from caseline.oversight import Role, create_user
from caseline.server import create_app
from tests.conftest import ADMIN, PASSWORD, last_audit_seq
from tests.web_support import web_sign_in


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _admin(client: TestClient, database: Database) -> dict[str, str]:
    with database.transaction() as session:
        create_user(session, "root", Role.ADMIN, PASSWORD, actor=ADMIN)
    signed = client.post("/api/sessions", json={"username": "root", "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    return _bearer(signed.json()["token"])


def test_a_token_acts_as_its_service_identity_until_revoked(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    with TestClient(create_app(settings, database)) as client:
        admin = _admin(client, database)
        made = client.post("/api/tokens", json={"name": "Nightly", "role": "analyst", "days": 7})
        assert made.status_code == 401  # no session
        made = client.post(
            "/api/tokens", json={"name": "Nightly", "role": "analyst", "days": 7}, headers=admin
        )
        assert made.status_code == 201, made.text
        body = made.json()
        token = body["token"]
        assert token.startswith("clt_") and body["identity"] == "token:nightly"
        with database.transaction() as session:
            stored = session.scalars(select(ApiToken.token_hash)).all()
        assert stored and token not in stored  # kept only as a hash

        before = last_audit_seq(database)
        leads = client.get("/api/leads", params={"as_of": "2026-01-01"}, headers=_bearer(token))
        assert leads.status_code == 200, leads.text
        # At most its role: an analyst's token manages no users or tokens.
        assert client.get("/api/tokens", headers=_bearer(token)).status_code == 403
        with database.transaction() as session:
            events = session.execute(
                select(AuditEvent.actor, AuditEvent.action).where(AuditEvent.seq > before)
            ).all()
        assert ("token:nightly", "use_api_token") in events
        assert ("token:nightly", "list_leads") in events

        listed = client.get("/api/tokens", headers=admin).json()
        assert [(t["name"], t["state"]) for t in listed] == [("nightly", "active")]
        assert "token" not in listed[0] and listed[0]["last_used_at"] is not None
        assert client.delete("/api/tokens/nightly", headers=admin).json()["state"] == "revoked"
        refused = client.get("/api/leads", params={"as_of": "2026-01-01"}, headers=_bearer(token))
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
        assert client.delete("/api/tokens/nightly", headers=admin).status_code == 409
        assert client.delete("/api/tokens/nobody", headers=admin).status_code == 404


def test_expired_forged_and_admin_tokens_are_refused(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    with TestClient(create_app(settings, database)) as client:
        admin = _admin(client, database)
        root = client.post(
            "/api/tokens", json={"name": "root-script", "role": "admin"}, headers=admin
        )
        assert root.status_code == 422 and "admin" in root.json()["detail"]
        too_long = client.post(
            "/api/tokens", json={"name": "forever", "role": "auditor", "days": 5000}, headers=admin
        )
        assert too_long.status_code == 422
        made = client.post(
            "/api/tokens", json={"name": "audit-bot", "role": "auditor", "days": 1}, headers=admin
        ).json()
        assert client.get("/api/audit/verify", headers=_bearer(made["token"])).status_code == 200
        with database.transaction() as session:
            session.execute(
                update(ApiToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(1))
            )
        expired = client.get("/api/audit/verify", headers=_bearer(made["token"]))
        assert expired.status_code == 401 and "expired" in expired.json()["detail"]
        forged = client.get("/api/audit/verify", headers=_bearer("clt_" + "A" * 43))
        assert forged.status_code == 401


def test_a_token_is_a_bearer_header_never_a_web_cookie(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    with TestClient(create_app(settings, database)) as client:
        admin = _admin(client, database)
        token = client.post(
            "/api/tokens", json={"name": "web-try", "role": "analyst"}, headers=admin
        ).json()["token"]
    with TestClient(create_app(settings, database)) as browser:
        browser.cookies.set("caseline_session", token)
        page = browser.get("/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login"
        api = browser.get("/api/leads", params={"as_of": "2026-01-01"})
        assert api.status_code == 401 and "bearer" in api.json()["detail"]
    # An admin's web session lists tokens through the API with the page's CSRF token.
    with TestClient(create_app(settings, database)) as browser:
        web_sign_in(browser, "root", PASSWORD)
        assert browser.get("/api/tokens").status_code == 403  # a cookie read needs CSRF


def test_the_openapi_document_declares_schemes_and_refusals(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    with TestClient(create_app(settings, database)) as client:
        spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearer"]["description"],
    }
    assert schemes["session_cookie"]["in"] == "cookie"
    assert schemes["session_cookie"]["name"] == "caseline_session"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert {"401", "403", "404"} <= set(operation["responses"]), (method, path)
            if path != "/api/sessions":
                assert {"bearer": []} in operation["security"], (method, path)
                assert {"session_cookie": []} in operation["security"], (method, path)
