"""Cross-site request forgery: another site, or a sibling origin on the same site, makes the
signed-in user's browser post every state-changing form (with the form's fields right, so
only where it came from is wrong), or call the API with the session cookie without the
anti-forgery token, with a wrong one, or from a foreign origin. Each is refused with 403,
audited, and changes nothing: the only events after it are the refusal's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caseline.cases import file_dispute
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import PersonRecord
from caseline.oversight import Actor, Role, seek_countersign
from caseline.server import create_app
from tests.attack_support import (
    AS_OF,
    EVIL,
    SIBLING,
    assert_refusal_audited,
    attack_world,
    events_since,
    free_leads,
    last_audit_seq,
    open_case_on,
)
from tests.conftest import PASSWORD
from tests.web_support import csrf_of, login_token, web_sign_in

pytestmark = pytest.mark.attack

ANN, LEE = Actor("ann", Role.ANALYST), Actor("lee", Role.LEGAL)
CSRF_REASONS = ("another origin", "may not use the session cookie", "X-CSRF-Token", "sign-in")
# Where a forged request comes from: the headers a browser sends with it.
ORIGINS = {
    "cross-site": {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
    "same-site-other-origin": {"Origin": SIBLING, "Sec-Fetch-Site": "same-site"},
    "foreign-origin-old-browser": {"Origin": EVIL, "Referer": EVIL + "/page"},
}


@dataclass(frozen=True)
class World:
    client: TestClient  # unsigned; each attack signs its victim in afresh
    database: Database
    case_id: int
    person_id: str  # the case's person
    other_person_id: str
    other_lead_id: str
    request_id: int  # ann's reason in words, waiting for a supervisor
    dispute_id: int  # filed by lee
    record_id: str
    browsers: dict[str, TestClient] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(
    resolved: tuple[Settings, Database], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with attack_world(resolved, tmp_path_factory) as (settings, database):
        lead, other = free_leads(database)
        case_id = open_case_on(database, lead, ANN)
        with database.transaction() as session:
            request_id = seek_countersign(
                session, ANN, f"person:{other.person_id}", "a letter came back from there"
            )
            record_id = session.scalars(
                select(PersonRecord.record_id)
                .where(PersonRecord.person_id == lead.person_id)
                .order_by(PersonRecord.record_id)
            ).first()
            assert request_id is not None and record_id is not None
            dispute = file_dispute(
                session,
                LEE,
                person_id=lead.person_id,
                record_id=record_id,
                kind="not_me",
                grounds="the record is of a namesake, not this person",
            )
        yield World(
            TestClient(create_app(settings, database)),
            database,
            case_id,
            lead.person_id,
            other.person_id,
            other.lead_id,
            request_id,
            dispute.id,
            record_id,
        )


def _victim(world: World, username: str) -> TestClient:
    """``username`` signed in through the site's own form, in a browser of their own (kept
    for the module's later attacks while its session lives: every attack leaves it so)."""
    kept = world.browsers.get(username)
    if kept is None or kept.get("/", follow_redirects=False).status_code != 200:
        kept = world.browsers[username] = web_sign_in(
            TestClient(world.client.app), username, PASSWORD
        )
    return kept


def _forms(world: World) -> dict[str, tuple[str, str, dict[str, str]]]:
    """Every state-changing form but sign-in: who posts it, where, with what fields."""
    return {
        "open-case": ("ann", "/cases", {"lead_id": world.other_lead_id, "as_of": str(AS_OF)}),
        "open-case-on-person": (
            "ann",
            f"/persons/{world.other_person_id}/cases",
            {"lead_id": world.other_lead_id, "as_of": str(AS_OF)},
        ),
        "case-step": (
            "ann",
            f"/cases/{world.case_id}/steps",
            {
                "action": "begin_review",
                "expected_version": "1",
                "reason": "a forged reason",
                "as_of": str(AS_OF),
            },
        ),
        "state-purpose": (
            "ann",
            f"/persons/{world.person_id}/purpose",
            {"purpose": "a reason in my words"},
        ),
        "purpose-countersign": ("sam", f"/purposes/{world.request_id}/countersign", {}),
        "purpose-decline": (
            "sam",
            f"/purposes/{world.request_id}/decline",
            {"reason": "not a good reason"},
        ),
        "dispute-file": (
            "lee",
            "/disputes",
            {
                "person_id": world.person_id,
                "record_id": world.record_id,
                "kind": "not_me",
                "grounds": "forged grounds for a forged dispute",
            },
        ),
        "dispute-review": ("sam", f"/disputes/{world.dispute_id}/review", {}),
        "dispute-decide": (
            "lee",
            f"/disputes/{world.dispute_id}/decision",
            {"decision": "uphold", "reason": "forged reason to uphold it"},
        ),
        "logout": ("ann", "/logout", {}),
    }


FORMS = [
    "open-case", "open-case-on-person", "case-step", "state-purpose", "purpose-countersign",
    "purpose-decline", "dispute-file", "dispute-review", "dispute-decide", "logout",
]  # fmt: skip


def _assert_refused_and_nothing_done(
    world: World, since: int, path: str, answer_status: int, detail: str
) -> None:
    assert answer_status == 403, detail
    assert any(reason in detail for reason in CSRF_REASONS), detail
    assert_refusal_audited(world.database, since, path, 403)
    done = {e.action for e in events_since(world.database, since)} - {"request_refused"}
    assert not done, f"the forged request did {done}"


@pytest.mark.parametrize("origin", ORIGINS)
@pytest.mark.parametrize("form", FORMS)
def test_csrf_on_a_web_form_is_refused(world: World, form: str, origin: str) -> None:
    username, path, data = _forms(world)[form]
    victim = _victim(world, username)
    if form == "logout":  # the page's own token, as if the attacker had it too
        data = {"csrf_token": csrf_of(victim.get("/").text)}
    since = last_audit_seq(world.database)
    answer = victim.post(path, data=data, headers=ORIGINS[origin], follow_redirects=False)
    _assert_refused_and_nothing_done(world, since, path, answer.status_code, answer.text)
    assert victim.get("/", follow_redirects=False).status_code == 200  # still signed in


@pytest.mark.parametrize("origin", [*ORIGINS, "no-login-token"])
def test_login_csrf_is_refused(world: World, origin: str) -> None:
    """Another page signs the victim's browser in as the attacker: refused, no cookie set."""
    browser = TestClient(world.client.app)
    token = login_token(browser)
    data = {"username": "lee", "password": PASSWORD, "login_token": token}
    headers = ORIGINS.get(origin, {})
    if origin == "no-login-token":  # the other page cannot read the token's cookie
        del data["login_token"]
    since = last_audit_seq(world.database)
    answer = browser.post("/login", data=data, headers=headers, follow_redirects=False)
    _assert_refused_and_nothing_done(world, since, "/login", answer.status_code, answer.text)
    assert "caseline_session" not in answer.headers.get("set-cookie", "")


def _api_calls(world: World) -> dict[str, tuple[str, str, str, dict[str, object] | None]]:
    """Cookie-authenticated API calls: who, method, path, JSON body."""
    return {
        "read-leads": ("ann", "GET", f"/api/leads?as_of={AS_OF}", None),
        "read-person": (
            "ann",
            "GET",
            f"/api/persons/{world.person_id}?purpose=case:{world.case_id}",
            None,
        ),
        "read-case": ("ann", "GET", f"/api/cases/{world.case_id}", None),
        "read-purposes": ("sam", "GET", "/api/purposes", None),
        "open-case": ("ann", "POST", f"/api/cases?as_of={AS_OF}", {"lead_id": world.other_lead_id}),
        "case-step": (
            "ann",
            "POST",
            f"/api/cases/{world.case_id}/steps?as_of={AS_OF}",
            {
                "action": "begin_review",
                "expected_version": 1,
                "fields": {"reason": "a forged reason"},
            },
        ),
        "purpose-countersign": (
            "sam",
            "POST",
            f"/api/purposes/{world.request_id}/countersign",
            None,
        ),
        "dispute-file": (
            "lee",
            "POST",
            "/api/disputes",
            {
                "person_id": world.person_id,
                "record_id": world.record_id,
                "kind": "not_me",
                "grounds": "forged grounds for a forged dispute",
            },
        ),
        "sign-out": ("ann", "DELETE", "/api/sessions", None),
    }


API_CALLS = [
    "read-leads", "read-person", "read-case", "read-purposes", "open-case", "case-step",
    "purpose-countersign", "dispute-file", "sign-out",
]  # fmt: skip
# How the forged call carries (or lacks) the anti-forgery token, and from where.
API_FORGERIES = ["no-token", "wrong-token", "right-token-foreign-origin", "cross-site"]


@pytest.mark.parametrize("forgery", API_FORGERIES)
@pytest.mark.parametrize("call", API_CALLS)
def test_csrf_on_a_cookie_api_call_is_refused(world: World, call: str, forgery: str) -> None:
    username, method, url, body = _api_calls(world)[call]
    victim = _victim(world, username)
    token = csrf_of(victim.get("/").text)
    headers = {
        "no-token": {},
        "wrong-token": {"X-CSRF-Token": "0" * 64},
        # The token leaked somehow; the call still comes from another origin.
        "right-token-foreign-origin": {"X-CSRF-Token": token, "Origin": EVIL},
        "cross-site": {"X-CSRF-Token": token, **ORIGINS["cross-site"]},
    }[forgery]
    since = last_audit_seq(world.database)
    answer = victim.request(method, url, json=body, headers=headers)
    path = url.split("?")[0]
    _assert_refused_and_nothing_done(world, since, path, answer.status_code, answer.text)
    assert victim.get("/", follow_redirects=False).status_code == 200  # still signed in
