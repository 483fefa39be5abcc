"""Attacks on sessions: tokens forged, expired, signed out, stolen from another user, sent
the wrong way, revoked, planted before sign-in, or belonging to a disabled user. Each must
be refused (401, or a web page that sends the browser to sign in) and the refusal audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import ApiToken, UserSession
from caseline.oversight import Role, create_api_token, create_user, csrf_token, disable_user
from caseline.server import create_app
from tests.attack_support import (
    AS_OF,
    assert_refusal_audited,
    attack_world,
    bearer,
    events_since,
    last_audit_seq,
)
from tests.conftest import ADMIN, PASSWORD
from tests.web_support import csrf_of, web_sign_in

pytestmark = pytest.mark.attack

LEADS = "/api/leads"
PARAMS = {"as_of": AS_OF.isoformat()}


class Target:
    """The app under attack and its database."""

    def __init__(self, app: FastAPI, database: Database) -> None:
        self.app, self.database = app, database

    def client(self) -> TestClient:
        return TestClient(self.app)

    def refused_api(self, headers: dict[str, str], client: TestClient | None = None) -> str:
        """A read of the leads with ``headers`` is refused with 401 and audited; the reason."""
        since = last_audit_seq(self.database)
        answer = (client or self.client()).get(LEADS, params=PARAMS, headers=headers)
        assert answer.status_code == 401, answer.text
        assert_refusal_audited(self.database, since, LEADS, 401)
        return str(answer.json()["detail"])

    def admitted(self, headers: dict[str, str]) -> None:
        """The same read works before the attack: the refusal is the attack's doing."""
        assert self.client().get(LEADS, params=PARAMS, headers=headers).status_code == 200

    def sent_to_sign_in(self, client: TestClient) -> None:
        """A page asked with the client's cookie sends it to sign in: no page is shown."""
        answer = client.get("/leads", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/login"

    def session_token(self, username: str) -> str:
        return bearer(self.client(), username)["Authorization"].removeprefix("Bearer ")

    def set_session(self, token: str, **values: dt.datetime) -> None:
        """What time does to a session: its moments moved (the database's own row)."""
        with self.database.transaction() as session:
            digest = hashlib.sha256(token.encode()).hexdigest()
            session.execute(
                update(UserSession).where(UserSession.token_hash == digest).values(**values)
            )


@pytest.fixture(scope="module")
def target(
    resolved: tuple[Settings, Database], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    with attack_world(resolved, tmp_path_factory) as (settings, database):
        with database.transaction() as session:
            create_user(session, "dee", Role.ANALYST, PASSWORD, actor=ADMIN)
            create_user(session, "eve", Role.ANALYST, PASSWORD, actor=ADMIN)
        yield Target(create_app(settings, database), database)


def _token_for_script(target: Target, name: str) -> str:
    with target.database.transaction() as session:
        issued = create_api_token(session, name=name, role=Role.ANALYST, days=7, actor=ADMIN)
    return issued.token


def forged_cookie(target: Target) -> None:
    forged = secrets.token_urlsafe(32)
    browser = target.client()
    browser.cookies.set("caseline_session", forged)
    target.sent_to_sign_in(browser)
    # The forger computes the CSRF token of their own forged session: no help.
    detail = target.refused_api({"X-CSRF-Token": csrf_token(forged)}, browser)
    assert "no valid session" in detail


def forged_bearer(target: Target) -> None:
    assert "no valid session" in target.refused_api(
        {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}
    )


def forged_api_token(target: Target) -> None:
    forged = "clt_" + secrets.token_urlsafe(32)
    assert "unknown API token" in target.refused_api({"Authorization": f"Bearer {forged}"})


def stored_hash_as_token(target: Target) -> None:
    """Someone who read the sessions table holds only hashes: a hash is no token."""
    digest = hashlib.sha256(target.session_token("ann").encode()).hexdigest()
    assert "no valid session" in target.refused_api({"Authorization": f"Bearer {digest}"})


def csrf_token_as_session(target: Target) -> None:
    """The CSRF token a page publishes is not the session it goes with."""
    page = web_sign_in(target.client(), "ann", PASSWORD).get("/")
    published = csrf_of(page.text)
    assert "no valid session" in target.refused_api({"Authorization": f"Bearer {published}"})


def expired_idle(target: Target) -> None:
    token = target.session_token("ann")
    target.admitted({"Authorization": f"Bearer {token}"})
    target.set_session(token, last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31))
    assert "idle" in target.refused_api({"Authorization": f"Bearer {token}"})


def expired_absolute(target: Target) -> None:
    token = target.session_token("ann")
    target.admitted({"Authorization": f"Bearer {token}"})
    now = dt.datetime.now(dt.UTC)
    target.set_session(token, expires_at=now - dt.timedelta(seconds=1), last_seen_at=now)
    assert "session expired" in target.refused_api({"Authorization": f"Bearer {token}"})


def expired_absolute_cookie(target: Target) -> None:
    browser = web_sign_in(target.client(), "ann", PASSWORD)
    token = browser.cookies["caseline_session"]
    now = dt.datetime.now(dt.UTC)
    target.set_session(token, expires_at=now - dt.timedelta(seconds=1), last_seen_at=now)
    target.sent_to_sign_in(browser)


def signed_out_bearer_reused(target: Target) -> None:
    headers = bearer(target.client(), "ann")
    target.admitted(headers)
    assert target.client().delete("/api/sessions", headers=headers).status_code == 204
    assert "no valid session" in target.refused_api(headers)


def signed_out_cookie_reused(target: Target) -> None:
    browser = web_sign_in(target.client(), "ann", PASSWORD)
    cookie = browser.cookies["caseline_session"]
    token = csrf_of(browser.get("/").text)
    out = browser.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    replay = TestClient(target.app, cookies={"caseline_session": cookie})
    target.sent_to_sign_in(replay)
    assert "no valid session" in target.refused_api({"X-CSRF-Token": token}, replay)


def foreign_cookie_with_own_csrf(target: Target) -> None:
    """Eve holds Ann's stolen cookie but only her own session's CSRF token."""
    ann = web_sign_in(target.client(), "ann", PASSWORD)
    eve = web_sign_in(target.client(), "eve", PASSWORD)
    eves_token = csrf_of(eve.get("/").text)
    thief = target.client()
    thief.headers["Origin"] = "http://testserver"
    thief.cookies.set("caseline_session", ann.cookies["caseline_session"])
    since = last_audit_seq(target.database)
    answer = thief.get(LEADS, params=PARAMS, headers={"X-CSRF-Token": eves_token})
    assert answer.status_code == 403 and "X-CSRF-Token" in answer.json()["detail"]
    assert_refusal_audited(target.database, since, LEADS, 403)
    made = thief.post(
        "/api/cases", json={"lead_id": "x"}, params=PARAMS, headers={"X-CSRF-Token": eves_token}
    )
    assert made.status_code == 403


def api_token_as_cookie(target: Target) -> None:
    token = _token_for_script(target, "cookie-try")
    browser = target.client()
    browser.cookies.set("caseline_session", token)
    target.sent_to_sign_in(browser)
    assert "bearer" in target.refused_api({}, browser)


def revoked_api_token(target: Target) -> None:
    token = _token_for_script(target, "revoked-try")
    target.admitted({"Authorization": f"Bearer {token}"})
    with target.database.transaction() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.name == "revoked-try")
            .values(revoked_at=dt.datetime.now(dt.UTC), revoked_by="test-admin")
        )
    assert "revoked" in target.refused_api({"Authorization": f"Bearer {token}"})


def expired_api_token(target: Target) -> None:
    token = _token_for_script(target, "expired-try")
    target.admitted({"Authorization": f"Bearer {token}"})
    with target.database.transaction() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.name == "expired-try")
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    assert "expired" in target.refused_api({"Authorization": f"Bearer {token}"})


def disabled_user_session(target: Target) -> None:
    script = bearer(target.client(), "dee")
    browser = web_sign_in(target.client(), "dee", PASSWORD)
    target.admitted(script)
    since = last_audit_seq(target.database)
    with target.database.transaction() as session:
        disable_user(session, "dee", actor=ADMIN)
    assert [e.object_id for e in events_since(target.database, since, "disable_user")] == ["dee"]
    target.refused_api(script)
    target.sent_to_sign_in(browser)
    again = target.client().post("/api/sessions", json={"username": "dee", "password": PASSWORD})
    assert again.status_code == 403


def fixated_session(target: Target) -> None:
    """Eve plants her own session cookie in Ann's browser before Ann signs in: signing in
    gives Ann a new session and ends the planted one, so Eve's token never becomes Ann's."""
    planted = target.session_token("eve")
    browser = target.client()
    browser.cookies.set("caseline_session", planted, domain="testserver.local")
    web_sign_in(browser, "ann", PASSWORD)
    assert browser.cookies["caseline_session"] != planted
    assert "no valid session" in target.refused_api({"Authorization": f"Bearer {planted}"})


ATTACKS: dict[str, Callable[[Target], None]] = {
    "forged-cookie": forged_cookie,
    "forged-bearer": forged_bearer,
    "forged-api-token": forged_api_token,
    "stored-hash-as-token": stored_hash_as_token,
    "csrf-token-as-session": csrf_token_as_session,
    "expired-idle": expired_idle,
    "expired-absolute": expired_absolute,
    "expired-absolute-cookie": expired_absolute_cookie,
    "signed-out-bearer-reused": signed_out_bearer_reused,
    "signed-out-cookie-reused": signed_out_cookie_reused,
    "foreign-cookie-own-csrf": foreign_cookie_with_own_csrf,
    "api-token-as-cookie": api_token_as_cookie,
    "revoked-api-token": revoked_api_token,
    "expired-api-token": expired_api_token,
    "disabled-user": disabled_user_session,
    "fixated-session": fixated_session,
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_session_attack_is_refused(target: Target, attack: str) -> None:
    ATTACKS[attack](target)
