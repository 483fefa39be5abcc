"""Every route, every role and nobody, against the one policy table.

The routes are read from the app (API and pages): each must declare what it needs
(``caseline.api.policy``), and each is then called as nobody and as a user of every role.
The access check refuses exactly the callers the policy table refuses: nobody with 401 (a
page sends them to sign in), a role without the permission with 403 naming the role; every
other caller gets past it, and no answer is a server error.
"""

import re
from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from caseline.api.deps import Authorized, CurrentActor
from caseline.api.policy import PUBLIC, SIGNED_IN, RoutePolicy, UndeclaredRoute, route_policies
from caseline.config import Settings
from caseline.db import Database
from caseline.oversight import Actor, Permission, Role, create_user
from caseline.server import create_app
from tests.conftest import ADMIN, PASSWORD

CALLERS: list[Role | None] = [None, *Role]
# A value for path parameters (else "1"); a report that exists, so the roles it admits read it.
PATH_VALUES = {"person_id": "P1", "case_id": "1", "step_id": "1", "name": "reads-by-user"}
PURPOSE = "route policy check"  # so a read refused for its purpose is not taken for the role


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    with database.transaction() as session:
        for role in Role:
            create_user(session, f"user-{role.value}", role, PASSWORD, actor=ADMIN)
    app = create_app(settings, database)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _tokens(client: TestClient) -> dict[Role, str]:
    tokens = {}
    for role in Role:
        signed_in = client.post(
            "/api/sessions", json={"username": f"user-{role.value}", "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        tokens[role] = signed_in.json()["token"]
    return tokens


def _url(policy: RoutePolicy) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "1"), policy.path)


def _ends_sessions(policy: RoutePolicy) -> bool:
    return (policy.method, policy.path) == ("DELETE", "/api/sessions")


def test_every_route_declares_what_it_needs(client: TestClient) -> None:
    policies = route_policies(client.app.routes)  # type: ignore[attr-defined]
    found = {(p.method, p.path) for p in policies}
    assert found >= PUBLIC and found >= SIGNED_IN
    assert {"/api/reports/{name}", "/reports", "/cases/{case_id}"} <= {p.path for p in policies}
    # Every permission but those only the command line uses guards at least one route.
    guarded = {p.permission for p in policies}
    assert {Permission.READ_PERSON, Permission.READ_REPORTS, Permission.VERIFY_AUDIT} <= guarded


def test_a_route_that_declares_nothing_is_refused_by_the_policy() -> None:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/open-secret")
    def open_secret() -> str:
        return "anyone"

    with pytest.raises(UndeclaredRoute, match="GET /open-secret declares no permission"):
        route_policies(app.routes)

    bare = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @bare.get("/any-session")
    def any_session(actor: CurrentActor) -> str:
        return actor.username

    with pytest.raises(UndeclaredRoute, match="/any-session"):
        route_policies(bare.routes)

    declared = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @declared.get("/reports-only")
    def reports_only(actor: Annotated[Actor, Authorized(Permission.READ_REPORTS)]) -> str:
        return actor.username

    (policy,) = route_policies(declared.routes)
    assert policy.permission is Permission.READ_REPORTS
    assert [policy.admits(role) for role in CALLERS] == [
        False, False, False, False, True, True, False,
    ]  # fmt: skip


def test_every_route_refuses_exactly_the_callers_the_policy_table_refuses(
    client: TestClient,
) -> None:
    tokens = _tokens(client)
    policies = sorted(route_policies(client.app.routes), key=_ends_sessions)  # type: ignore[attr-defined]
    answered: dict[tuple[str, str, Role | None], int] = {}
    for policy in policies:
        for role in CALLERS:
            headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
            response = client.request(
                policy.method,
                _url(policy),
                params={"purpose": PURPOSE},
                headers=headers,
                follow_redirects=False,
            )
            where = f"{policy.method} {policy.path} as {role or 'nobody'}"
            status = response.status_code
            assert status < 500, f"{where}: {status} {response.text[:300]}"
            page = not policy.path.startswith("/api") and policy.path != "/openapi.json"
            if policy.admits(role):
                assert status != 401, f"{where}: refused as not signed in"
                sent_to_sign_in = status == 303 and response.headers["location"] == "/login"
                assert not (page and policy.needs_session and sent_to_sign_in), where
                # Refused for its role it must not be (a 200 may quote a refusal: the trail).
                refused = status == 403 and f"role '{role}' may not" in response.text
                assert not refused, f"{where}: {status}"
            elif role is None and page:
                assert (status, response.headers.get("location")) == (303, "/login"), where
            elif role is None:
                assert status == 401, f"{where}: {status}"
            else:
                assert status == 403, f"{where}: {status}"
                assert f"role &#39;{role}&#39; may not" in response.text or (
                    f"role '{role}' may not" in response.text
                ), f"{where}: {response.text[:300]}"
            answered[policy.method, policy.path, role] = status
    assert len(answered) == len(policies) * len(CALLERS) > 200
    # The admitted callers were answered, not merely not refused.
    assert answered["GET", "/api/reports/{name}", Role.AUDITOR] == 200
    assert answered["GET", "/reports", Role.ADMIN] == 200
    assert answered["GET", "/api/cases", Role.ANALYST] == 200
    assert answered["GET", "/", Role.DATA_ENGINEER] == 200


def test_auditors_and_admins_read_no_person_on_any_route(client: TestClient) -> None:
    policies = route_policies(client.app.routes)  # type: ignore[attr-defined]
    person_routes = [
        p for p in policies if p.permission in (Permission.READ_PERSON, Permission.SEARCH_PERSONS)
    ]
    assert len(person_routes) >= 4
    for policy in person_routes:
        assert not policy.admits(Role.AUDITOR) and not policy.admits(Role.ADMIN)
