"""The profile for a lead in a real headless Chromium (issue 22, journey 2): a record's
drawer opened from the keyboard, the timeline in date order, and the as-of control that
re-reads the addresses for another day, at 1280 and 390 px."""

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from caseline.cases import Lead, find_leads
from caseline.config import Settings
from caseline.db import Database
from tests.browser_support import assert_accessible, horizontal_overflow, serve
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)]
AS_OF = dt.date(2026, 1, 1)
LATER = dt.date(2026, 6, 30)


@pytest.fixture(scope="module")
def served(resolved: tuple[Settings, Database]) -> Iterator[str]:
    with serve(*resolved) as base:
        yield base


def _lead(database: Database) -> Lead:
    with database.transaction() as session:
        return next(x for x in find_leads(session, AS_OF) if x.open_case is None)


def _sign_in(browser: Browser, base: str, width: int) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(base + "/login")
    page.get_by_label("User name").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


@pytest.mark.parametrize("width", [1280, 390])
def test_a_records_drawer_the_timeline_and_the_as_of_day(
    resolved: tuple[Settings, Database], served: str, browser: Browser, width: int
) -> None:
    lead = _lead(resolved[1])
    page = _sign_in(browser, served, width)
    page.goto(
        f"{served}/persons/{lead.person_id}?purpose=lead:{lead.lead_id}&as_of={AS_OF.isoformat()}"
    )
    expect(page.locator("#addresses h2")).to_contain_text(AS_OF.isoformat())
    assert_accessible(page)
    assert horizontal_overflow(page) is None

    # A record's drawer, opened from the keyboard: the record as ingested and its issues.
    drawer = page.locator("details.record-drawer").first
    expect(drawer).not_to_have_attribute("open", "")
    drawer.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(drawer).to_have_attribute("open", "")
    expect(drawer).to_contain_text("Values left out")
    expect(drawer.locator(".value-issues")).to_have_text("none")
    expect(drawer.locator("dd.sha")).to_have_text(
        page.locator("table.records tbody tr td.provenance code.hash").first.inner_text()
    )
    assert_accessible(page)
    assert horizontal_overflow(page) is None

    # The timeline: its dated entries oldest first, each date on one line.
    entries = page.locator("ol.timeline > li")
    assert entries.count() >= 1
    days = [d for d in entries.evaluate_all("ls => ls.map(l => l.dataset.on)") if d]
    assert days == sorted(days)
    tops = entries.locator("time").evaluate_all("ts => ts.map(t => t.getClientRects().length)")
    assert set(tops) == {1}  # one box each: the date never wraps

    # Another day, the purpose kept.
    page.get_by_label("As of").fill(LATER.isoformat())
    page.get_by_role("button", name="Show that day").click()
    expect(page.locator("#addresses h2")).to_contain_text(LATER.isoformat())
    assert f"as_of={LATER.isoformat()}" in page.url and "purpose=lead" in page.url
    expect(page.locator("#person-name")).to_be_visible()
    assert_accessible(page)
    assert horizontal_overflow(page) is None
