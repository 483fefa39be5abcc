"""Disputes through the web UI: filed by one legal reviewer and decided by another in a real
headless Chromium; the profile page shows a dispute on the person's records."""

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from caseline.cases import file_dispute, open_case
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import PersonRecord
from caseline.oversight import Actor, Role, create_user
from caseline.server import create_app
from tests.browser_support import assert_accessible, serve
from tests.conftest import ADMIN, PASSWORD
from tests.web_support import web_sign_in

AS_OF = dt.date(2026, 1, 1)


@pytest.fixture
def world(mutable_resolved: tuple[Settings, Database]) -> tuple[Settings, Database]:
    _, database = mutable_resolved
    with database.transaction() as session:
        create_user(session, "liz", Role.LEGAL, PASSWORD, actor=ADMIN)
    return mutable_resolved


def _a_record(database: Database) -> tuple[str, str]:
    with database.transaction() as session:
        row = session.execute(
            select(PersonRecord.person_id, PersonRecord.record_id).order_by(PersonRecord.record_id)
        ).first()
    assert row is not None
    return row[0], row[1]


def _sign_in(browser: Browser, base: str, username: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(base + "/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


@pytest.fixture
def served(world: tuple[Settings, Database], browser: Browser) -> Iterator[str]:
    before = set(browser.contexts)
    with serve(*world) as base:
        yield base
    for context in browser.contexts:
        if context not in before:
            context.close()


@pytest.mark.browser
@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_a_dispute_is_filed_and_upheld_by_two_legal_reviewers_in_a_browser(
    world: tuple[Settings, Database], served: str, browser: Browser
) -> None:
    person_id, record_id = _a_record(world[1])
    lee = _sign_in(browser, served, "lee")
    lee.get_by_role("link", name="Disputes").click()
    lee.goto(f"{served}/disputes?person_id={person_id}&record_id={record_id}")
    form = lee.locator("#file-dispute form")
    expect(form.get_by_label("Record")).to_have_value(record_id)
    assert_accessible(lee)
    form.get_by_label("Kind").select_option("value")
    form.get_by_label("Grounds").fill("the date of birth has day and month exchanged")
    form.get_by_label("Field").fill("date_of_birth")
    form.get_by_label("Right value or status").fill("1980-02-03")
    form.get_by_role("button", name="File the dispute").click()
    expect(lee.locator("#dispute-state")).to_have_text("filed")
    expect(lee.get_by_text("You filed this dispute")).to_be_visible()
    expect(lee.get_by_role("button", name="Take up for review")).to_have_count(0)
    assert_accessible(lee)
    url = lee.url

    liz = _sign_in(browser, served, "liz")
    liz.goto(url)
    liz.get_by_role("button", name="Take up for review").click()
    expect(liz.locator("#dispute-state")).to_have_text("under review")
    expect(liz.locator("#dispute-reviewer")).to_have_text("liz")
    liz.get_by_label("Reason").fill("the birth certificate shows 3 February")
    liz.get_by_role("button", name="Uphold").click()
    expect(liz.locator("#dispute-state")).to_have_text("upheld")
    expect(liz.locator("#dispute-effect")).to_contain_text("now: 1980-02-03")
    assert_accessible(liz)
    liz.goto(f"{served}/disputes?state=upheld")
    expect(liz.locator("tr[data-dispute-id]")).to_have_count(1)
    assert_accessible(liz)


@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_the_profile_page_shows_an_open_dispute_and_its_record_under_dispute(
    world: tuple[Settings, Database],
) -> None:
    settings, database = world
    person_id, record_id = _a_record(database)
    with database.transaction() as session:
        case = open_case(session, actor=Actor("ann", Role.ANALYST), as_of=AS_OF,
                         person_id=person_id, reason="tip from a profile")  # fmt: skip
        filed = file_dispute(session, Actor("lee", Role.LEGAL), person_id=person_id,
                             record_id=record_id, kind="not_me",
                             grounds="another person of the same name")  # fmt: skip
    with TestClient(create_app(settings, database)) as client:
        web_sign_in(client, "ann", PASSWORD)
        page = client.get(
            f"/persons/{person_id}", params={"purpose": f"case:{case.id}", "as_of": "2026-01-01"}
        )
        assert page.status_code == 200, page.text
        assert f'data-dispute-id="{filed.id}" data-state="filed"' in page.text
        assert "under dispute" in page.text and "left out of the scores" in page.text
        assert "Disputes</a>" not in page.text  # analysts do not list disputes
        assert client.get("/disputes").status_code == 403
