"""/api/users: admins list, add, disable, enable, reset and re-role users, each audited in
its transaction; disabling ends the user's sessions, so their token stops working; other
roles are refused, weak passwords are refused with the policy's reason, and no admin locks
themselves out or leaves the workspace without one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent
from caseline.errors import StateError
from caseline.oversight import Role, create_user, disable_user, set_role
from caseline.server import create_app
from tests.conftest import ADMIN, PASSWORD, last_audit_seq

NEW_PASSWORD = "a brand new passphrase"
# Every route of /api/users with a body it would take, for the refusal checks.
ROUTES = [
    ("GET", "/api/users", None),
    ("POST", "/api/users", {"username": "zed", "role": "analyst", "password": NEW_PASSWORD}),
    ("POST", "/api/users/ann/disable", None),
    ("POST", "/api/users/ann/enable", None),
    ("POST", "/api/users/ann/password", {"password": NEW_PASSWORD}),
    ("POST", "/api/users/ann/role", {"role": "supervisor"}),
]


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    """A workspace with one admin (root), an analyst (ann) and an auditor (aud)."""
    with database.transaction() as session:
        create_user(session, "root", Role.ADMIN, PASSWORD, actor=ADMIN)
        create_user(session, "ann", Role.ANALYST, PASSWORD, actor=ADMIN)
        create_user(session, "aud", Role.AUDITOR, PASSWORD, actor=ADMIN)
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def _bearer(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    signed = client.post("/api/sessions", json={"username": username, "password": password})
    assert signed.status_code == 200, signed.text
    return {"Authorization": f"Bearer {signed.json()['token']}"}


def _events(database: Database, after: int) -> list[tuple[str, str, str | None, dict[str, object]]]:
    with database.transaction() as session:
        rows = session.execute(
            select(AuditEvent.actor, AuditEvent.action, AuditEvent.object_id, AuditEvent.details)
            .where(AuditEvent.seq > after)
            .order_by(AuditEvent.seq)
        ).all()
    return [(actor, action, object_id, dict(details)) for actor, action, object_id, details in rows]


def _user_rows(client: TestClient, admin: dict[str, str]) -> dict[str, tuple[str, bool, int]]:
    listed = client.get("/api/users", headers=admin)
    assert listed.status_code == 200, listed.text
    return {u["username"]: (u["role"], u["enabled"], u["sessions"]) for u in listed.json()}


def test_an_admin_adds_lists_and_changes_users_and_each_change_is_audited(
    client: TestClient, database: Database
) -> None:
    root = _bearer(client, "root")
    before = last_audit_seq(database)
    added = client.post(
        "/api/users", json={"username": "Zed", "role": "analyst", "password": NEW_PASSWORD},
        headers=root,
    )  # fmt: skip
    assert added.status_code == 201, added.text
    assert added.json() | {"created_at": None} == {
        "username": "Zed", "role": "analyst", "enabled": True, "sessions": 0, "created_at": None,
    }  # fmt: skip
    zed = _bearer(client, "zed", NEW_PASSWORD)  # names are not case-sensitive
    rows = _user_rows(client, root)
    assert rows == {
        "ann": ("analyst", True, 0), "aud": ("auditor", True, 0),
        "root": ("admin", True, 1), "Zed": ("analyst", True, 1),
    }  # fmt: skip
    assert client.get("/api/leads", params={"as_of": "2026-01-01"}, headers=zed).status_code == 200

    changed = client.post("/api/users/zed/role", json={"role": "supervisor"}, headers=root)
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"username": "zed", "role": "supervisor", "sessions_ended": 1}
    assert (
        client.get("/api/leads", params={"as_of": "2026-01-01"}, headers=zed).status_code == 401
    )  # the role change ended it
    zed = _bearer(client, "zed", NEW_PASSWORD)

    reset = client.post("/api/users/zed/password", json={"password": "another long passphrase"},
                        headers=root)  # fmt: skip
    assert reset.json() == {"username": "zed", "role": None, "sessions_ended": 1}
    assert client.get("/api/leads", params={"as_of": "2026-01-01"}, headers=zed).status_code == 401
    refused = client.post("/api/sessions", json={"username": "zed", "password": NEW_PASSWORD})
    assert refused.status_code == 403 and "wrong password" in refused.json()["detail"]
    zed = _bearer(client, "zed", "another long passphrase")

    disabled = client.post("/api/users/zed/disable", headers=root)
    assert disabled.json() == {"username": "zed", "role": None, "sessions_ended": 1}
    enabled = client.post("/api/users/zed/enable", headers=root)
    assert enabled.json() == {"username": "zed", "role": None, "sessions_ended": 0}
    assert _user_rows(client, root)["Zed"] == ("supervisor", True, 0)

    events = [
        (actor, action, object_id, details)
        for actor, action, object_id, details in _events(database, before)
        if actor == "root"
    ]
    assert [(action, object_id) for _, action, object_id, _ in events] == [
        ("add_user", "Zed"), ("list_users", None), ("change_role", "Zed"),
        ("reset_password", "Zed"), ("disable_user", "Zed"), ("enable_user", "Zed"),
        ("list_users", None),
    ]  # fmt: skip
    details = {action: detail for _, action, _, detail in events}
    assert details["add_user"] == {"role": "analyst"}
    assert details["change_role"] == {
        "from_role": "analyst", "to_role": "supervisor", "sessions_ended": 1,
    }  # fmt: skip
    assert details["disable_user"] == {"sessions_ended": 1}
    assert details["list_users"] == {"count": 4}


def test_disabling_a_user_ends_their_sessions_and_their_token_stops_working(
    client: TestClient, database: Database
) -> None:
    root = _bearer(client, "root")
    first, second = _bearer(client, "ann"), _bearer(client, "ann")
    leads = {"as_of": "2026-01-01"}
    assert client.get("/api/leads", params=leads, headers=first).status_code == 200
    disabled = client.post("/api/users/ann/disable", headers=root)
    assert disabled.status_code == 200 and disabled.json()["sessions_ended"] == 2
    for token in (first, second):
        refused = client.get("/api/leads", params=leads, headers=token)
        assert refused.status_code == 401, refused.text
        assert "sign in" in refused.json()["detail"]
    signed = client.post("/api/sessions", json={"username": "ann", "password": PASSWORD})
    assert signed.status_code == 403 and "wrong password" in signed.json()["detail"]
    assert _user_rows(client, root)["ann"] == ("analyst", False, 0)
    again = client.post("/api/users/ann/disable", headers=root)
    assert again.status_code == 409 and "already disabled" in again.json()["detail"]
    # Enabling lets them sign in again; the sessions disabling ended stay ended.
    assert client.post("/api/users/ann/enable", headers=root).status_code == 200
    assert client.get("/api/leads", params=leads, headers=first).status_code == 401
    assert client.get("/api/leads", params=leads, headers=_bearer(client, "ann")).status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_other_roles_are_refused_and_nobody_must_sign_in(
    client: TestClient, database: Database, method: str, path: str, body: object
) -> None:
    before = last_audit_seq(database)
    for username in ("ann", "aud"):
        refused = client.request(method, path, json=body, headers=_bearer(client, username))
        assert refused.status_code == 403, refused.text
        role = "analyst" if username == "ann" else "auditor"
        assert refused.json()["detail"] == f"role '{role}' may not manage users"
    anonymous = client.request(method, path, json=body)
    assert anonymous.status_code == 401 and "sign in" in anonymous.json()["detail"]
    actions = [action for _, action, _, _ in _events(database, before)]
    assert actions.count("request_refused") == 3
    assert not {"add_user", "list_users", "disable_user", "enable_user"} & set(actions)
    assert not {"reset_password", "change_role"} & set(actions)
    root = _bearer(client, "root")
    assert _user_rows(client, root)["ann"] == ("analyst", True, 1)  # her session lives on
    assert "zed" not in _user_rows(client, root)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short pass", "password must be at least 12 characters"),
        ("password2024", "password is too common"),
        ("zed-the-analyst", "password must not contain the username"),
        ("abababababab", "password must not repeat one or two characters"),
    ],
)
def test_a_weak_password_is_refused_with_the_policys_reason(
    client: TestClient, database: Database, password: str, reason: str
) -> None:
    root = _bearer(client, "root")
    before = last_audit_seq(database)
    added = client.post(
        "/api/users", json={"username": "zed", "role": "analyst", "password": password},
        headers=root,
    )  # fmt: skip
    assert added.status_code == 422, added.text
    assert added.json()["where"] == "password" and reason in added.json()["detail"]
    reset = client.post("/api/users/ann/password", json={"password": password}, headers=root)
    if "username" in reason:  # the name in it is zed's, not ann's
        assert reset.status_code == 200, reset.text
    else:
        assert reset.status_code == 422 and reason in reset.json()["detail"]
    actions = [action for _, action, _, _ in _events(database, before)]
    assert "add_user" not in actions  # refused before anything was written
    assert "zed" not in _user_rows(client, root)


def test_bad_names_roles_and_unknown_users_are_refused_with_the_reason(
    client: TestClient,
) -> None:
    root = _bearer(client, "root")
    taken = client.post(
        "/api/users", json={"username": "ANN", "role": "analyst", "password": NEW_PASSWORD},
        headers=root,
    )  # fmt: skip
    assert taken.status_code == 422 and "exists" in taken.json()["detail"]
    malformed = client.post(
        "/api/users", json={"username": "z z", "role": "analyst", "password": NEW_PASSWORD},
        headers=root,
    )  # fmt: skip
    assert malformed.status_code == 422 and malformed.json()["where"] == "username"
    no_role = client.post(
        "/api/users", json={"username": "zed", "role": "king", "password": NEW_PASSWORD},
        headers=root,
    )  # fmt: skip
    assert no_role.status_code == 422 and "role" in no_role.text
    for path, body in [
        ("/api/users/nobody/disable", None),
        ("/api/users/nobody/enable", None),
        ("/api/users/nobody/password", {"password": NEW_PASSWORD}),
        ("/api/users/nobody/role", {"role": "legal"}),
    ]:
        missing = client.post(path, json=body, headers=root)
        assert missing.status_code == 404, path
        assert missing.json()["detail"] == "no user 'nobody' in this workspace"
    same = client.post("/api/users/ann/role", json={"role": "analyst"}, headers=root)
    assert same.status_code == 409 and "already has the role analyst" in same.json()["detail"]
    not_disabled = client.post("/api/users/ann/enable", headers=root)
    assert not_disabled.status_code == 409 and "is not disabled" in not_disabled.json()["detail"]


def test_an_admin_changes_neither_themselves_nor_away_the_last_admin(
    client: TestClient, database: Database
) -> None:
    root = _bearer(client, "root")
    alone = client.post("/api/users/root/disable", headers=root)
    assert alone.status_code == 409 and "last enabled admin" in alone.json()["detail"]
    added = client.post(
        "/api/users", json={"username": "ops", "role": "admin", "password": NEW_PASSWORD},
        headers=root,
    )  # fmt: skip
    assert added.status_code == 201, added.text
    itself = client.post("/api/users/ROOT/disable", headers=root)
    assert itself.status_code == 409
    assert itself.json()["detail"] == "an admin may not disable themselves: another admin does it"
    demoted = client.post("/api/users/root/role", json={"role": "analyst"}, headers=root)
    assert demoted.status_code == 409 and "may not change the role of themselves" in demoted.text
    assert _user_rows(client, root)["root"] == ("admin", True, 1)  # still signed in, still admin
    # Another admin may: then ops is the last enabled admin, whom no one disables or demotes.
    ops = _bearer(client, "ops", NEW_PASSWORD)
    assert client.post("/api/users/root/disable", headers=ops).status_code == 200
    assert client.get("/api/users", headers=root).status_code == 401
    with database.transaction() as session, pytest.raises(StateError, match="last enabled admin"):
        disable_user(session, "ops", actor=ADMIN)
    with database.transaction() as session, pytest.raises(StateError, match="last enabled admin"):
        set_role(session, "ops", Role.AUDITOR, actor=ADMIN)
