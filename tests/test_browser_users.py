"""The users page: an admin adds a user and disables them in a real headless Chromium, and
the disabled user is signed out and cannot sign in again; through the test client, the
page's refusals are shown on the page, its forms are refused from another origin and to
every role but admin, and the link to it is an admin's alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent
from caseline.oversight import Role, create_user
from caseline.server import create_app
from tests.browser_support import assert_accessible, serve
from tests.conftest import ADMIN, PASSWORD, last_audit_seq
from tests.web_support import web_sign_in

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def workspace(settings: Settings, database: Database) -> tuple[Settings, Database]:
    """An admin (root), another admin (ops) and an analyst (ann)."""
    with database.transaction() as session:
        create_user(session, "root", Role.ADMIN, PASSWORD, actor=ADMIN)
        create_user(session, "ops", Role.ADMIN, PASSWORD, actor=ADMIN)
        create_user(session, "ann", Role.ANALYST, PASSWORD, actor=ADMIN)
    return settings, database


@pytest.fixture
def client(workspace: tuple[Settings, Database]) -> Iterator[TestClient]:
    with TestClient(create_app(*workspace)) as test_client:
        yield test_client


def _actions(database: Database, after: int) -> list[tuple[str, str, str | None]]:
    with database.transaction() as session:
        return [
            (actor, action, object_id)
            for actor, action, object_id in session.execute(
                select(AuditEvent.actor, AuditEvent.action, AuditEvent.object_id)
                .where(AuditEvent.seq > after)
                .order_by(AuditEvent.seq)
            )
        ]


def _sign_in(browser: Browser, base: str, username: str, password: str = PASSWORD) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(base + "/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


@pytest.fixture
def served(workspace: tuple[Settings, Database], browser: Browser) -> Iterator[str]:
    before = set(browser.contexts)
    with serve(*workspace) as base:
        yield base
    for context in browser.contexts:
        if context not in before:
            context.close()


@pytest.mark.browser
@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_an_admin_adds_and_disables_a_user_who_then_cannot_sign_in(
    workspace: tuple[Settings, Database], served: str, browser: Browser
) -> None:
    root = _sign_in(browser, served, "root")
    root.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(root.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    assert_accessible(root)
    form = root.locator("#add-user form")
    form.get_by_label("User name").fill("zed")
    form.get_by_label("Role").select_option("legal")
    form.get_by_label("Password").fill("short")
    form.get_by_role("button", name="Add user").click()
    expect(root.get_by_role("alert")).to_contain_text("at least 12 characters")
    expect(form.get_by_label("User name")).to_have_value("zed")  # kept for another try
    assert_accessible(root)
    form.get_by_label("Password").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Add user").click()
    expect(root.get_by_role("status")).to_have_text("zed added.")
    row = root.locator("tr[data-username='zed']")
    expect(row.locator("td.role")).to_have_text("legal")
    expect(row.locator("td.enabled")).to_have_text("yes")

    zed = _sign_in(browser, served, "zed", NEW_PASSWORD)
    expect(zed.get_by_role("link", name="Disputes")).to_be_visible()

    row.get_by_role("button", name="Disable zed").click()
    expect(root.get_by_role("status")).to_have_text("zed disabled. 1 session ended.")
    expect(root.locator("tr[data-username='zed'] td.enabled")).to_have_text("no")
    expect(root.get_by_role("button", name="Enable zed")).to_be_visible()
    assert_accessible(root)

    zed.reload()  # the session ended: back to the sign-in page
    expect(zed.get_by_role("heading", name="Sign in")).to_be_visible()
    zed.get_by_label("User name").fill("zed")
    zed.get_by_label("Password").fill(NEW_PASSWORD)
    zed.get_by_role("button", name="Sign in").click()
    expect(zed.get_by_role("alert")).to_have_text("unknown user or wrong password")
    assert_accessible(zed)
    expect(zed.get_by_role("button", name="Sign out")).to_have_count(0)
    actions = [(a, o) for actor, a, o in _actions(workspace[1], 0) if actor == "root"]
    assert ("add_user", "zed") in actions and ("disable_user", "zed") in actions


def test_the_page_lists_users_and_its_forms_change_them_audited(
    client: TestClient, workspace: tuple[Settings, Database]
) -> None:
    web_sign_in(client, "root", PASSWORD)
    home = client.get("/")
    assert '<a href="/users">/users</a>' in home.text and '<a href="/users"' in home.text
    page = client.get("/users")
    assert page.status_code == 200, page.text
    assert '<a href="/users" aria-current="page">Users</a>' in page.text
    assert page.text.count("<tr data-username=") == 3
    assert 'data-username="root" data-enabled="yes"' in page.text
    assert "another admin changes your account" in page.text  # no forms on one's own row
    assert 'action="/users/root/disable"' not in page.text
    assert 'action="/users/ann/disable"' in page.text

    before = last_audit_seq(workspace[1])
    moved = client.post("/users/ann/role", data={"role": "supervisor"}, follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (
        303, "/users?done=role&name=ann",
    )  # fmt: skip
    reset = client.post("/users/ann/password", data={"password": NEW_PASSWORD})
    assert reset.status_code == 200 and "ann given a new password." in reset.text
    assert client.post("/users/ops/disable").status_code == 200
    enabled = client.post("/users/ops/enable")
    assert "ops enabled again." in enabled.text
    assert 'data-username="ann" data-enabled="yes"' in enabled.text
    assert '<td class="role">supervisor</td>' in enabled.text
    actions = [(a, o) for actor, a, o in _actions(workspace[1], before) if actor == "root"]
    assert [entry for entry in actions if entry[0] != "list_users"] == [
        ("change_role", "ann"), ("reset_password", "ann"),
        ("disable_user", "ops"), ("enable_user", "ops"),
    ]  # fmt: skip
    ann = TestClient(client.app)
    web_sign_in(ann, "ann", NEW_PASSWORD)  # the new password, the new role
    assert "supervisor" in ann.get("/").text


def test_refusals_are_shown_on_the_page_not_as_json(client: TestClient) -> None:
    web_sign_in(client, "root", PASSWORD)
    weak = client.post("/users", data={"username": "zed", "role": "analyst",
                                       "password": "password2024"})  # fmt: skip
    assert weak.status_code == 422
    assert weak.headers["content-type"].startswith("text/html")
    assert "password: password is too common: choose another" in weak.text
    assert 'name="username" value="zed"' in weak.text and "password2024" not in weak.text
    bad_role = client.post("/users", data={"username": "zed", "role": "king",
                                           "password": NEW_PASSWORD})  # fmt: skip
    assert bad_role.status_code == 422 and "no role &#39;king&#39;" in bad_role.text
    itself = client.post("/users/root/disable")
    assert itself.status_code == 409
    assert "root: an admin may not disable themselves" in itself.text
    missing = client.post("/users/nobody/enable")
    assert missing.status_code == 404 and "no user &#39;nobody&#39;" in missing.text
    short = client.post("/users/ann/password", data={"password": "short"})
    assert short.status_code == 422 and "ann: password: password must be at least" in short.text
    for page in (weak, bad_role, itself, missing, short):
        assert '<p class="error" role="alert" id="users-error">' in page.text
        assert page.text.count("<tr data-username=") == 3  # the list, shown again
    assert 'data-username="zed"' not in client.get("/users").text


def test_only_admins_reach_the_page_and_forms_from_another_origin_are_refused(
    client: TestClient, workspace: tuple[Settings, Database]
) -> None:
    analyst = web_sign_in(TestClient(client.app), "ann", PASSWORD)
    assert 'href="/users"' not in analyst.get("/").text
    for method, path in [("GET", "/users"), ("POST", "/users/ops/disable")]:
        refused = analyst.request(method, path)
        assert refused.status_code == 403 and "may not manage users" in refused.text
    nobody = TestClient(client.app).get("/users", follow_redirects=False)
    assert (nobody.status_code, nobody.headers["location"]) == (303, "/login")

    web_sign_in(client, "root", PASSWORD)
    forged = client.post("/users/ops/disable", headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403 and "another origin" in forged.text
    del client.headers["Origin"]
    bare = client.post("/users/ops/disable")
    assert bare.status_code == 403 and "needs the Origin of this site" in bare.text
    client.headers["Origin"] = "http://testserver"
    assert 'data-username="ops" data-enabled="yes"' in client.get("/users").text
