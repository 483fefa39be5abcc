"""The retention page in a real headless Chromium: an admin sees what is past its period on
a day, purges it with the button, and sees the flags the purge left."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select

from caseline.config import Settings, load_settings
from caseline.db import Database
from caseline.db.models import SourceRecord
from caseline.oversight import Role, create_user
from tests.browser_support import serve
from tests.conftest import ADMIN, PASSWORD
from tests.test_retention import _build


@pytest.fixture
def served(settings: Settings, database: Database, browser: Browser) -> Iterator[str]:
    with database.transaction() as session:
        _build(session)
        create_user(session, "ada", Role.ADMIN, PASSWORD, actor=ADMIN)
    configured = load_settings(
        home=settings.home, database_url=settings.database_url, retention_days={"utility": 3650}
    )
    before = set(browser.contexts)
    with serve(configured, database) as base:
        yield base
    for context in browser.contexts:
        if context not in before:
            context.close()


@pytest.mark.browser
@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_an_admin_purges_what_the_page_shows_in_a_browser(
    served: str, browser: Browser, database: Database
) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(served + "/login")
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.goto(served + "/retention")
    page.get_by_role("textbox", name="Reference day").fill("2025-01-01")
    page.get_by_role("button", name="Show what is past").click()
    expect(page.locator('tr[data-source="utility"] td.records')).to_have_text("2")
    expect(page.locator('tr[data-person-id="PB"]')).to_contain_text("(removed)")
    page.get_by_role("button", name="Purge 2 records").click()  # not before it is confirmed
    expect(page.get_by_role("status")).to_have_count(0)
    page.get_by_label("The records listed are deleted for good").check()
    page.get_by_role("button", name="Purge 2 records").click()
    expect(page.get_by_role("status")).to_contain_text("applied")
    expect(page.locator("tr[data-run-id]")).to_have_count(2)
    expect(page.get_by_role("heading", name="0 records past their period")).to_be_visible()
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(SourceRecord)) == 4
