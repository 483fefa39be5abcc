"""Journey 1, find, in a real headless Chromium: `/` puts the cursor in the search box; a name
typed with two slips, or family name first, finds the person in the top 3; the results tell
namesakes apart (match, birth, places, sources) with a total and pages; a filter narrows
them; every page passes axe-core and fits 390 px."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import Person, PersonNameWord
from caseline.oversight import Actor, Role
from caseline.profiles import search_persons
from tests.browser_support import assert_accessible, horizontal_overflow, serve
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)]
PURPOSE = "checking a tip about a name"
ANN = Actor("ann", Role.ANALYST)


def _slip(word: str, at: int) -> str:
    return word[:at] + ("Q" if word[at] != "Q" else "X") + word[at + 1 :]


@pytest.fixture(scope="module")
def base(resolved: tuple[Settings, Database]) -> Iterator[str]:
    with serve(*resolved) as url:
        yield url


@pytest.fixture(scope="module")
def person(resolved: tuple[Settings, Database]) -> Person:
    """A person with a two-word name of long words (room for a slip in each)."""
    with resolved[1].transaction() as session:
        for found in session.scalars(select(Person).order_by(Person.person_id)):
            words = found.display_name.split()
            if len(words) == 2 and all(len(w) >= 6 and w.isalpha() for w in words):
                session.expunge(found)
                return found
    pytest.fail("no person with a two-word name of long words")


@pytest.fixture
def signed_in(browser: Browser, base: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(base + "/login")
    page.get_by_label("User name").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Find a person")).to_be_visible()
    yield page
    context.close()


def _search(page: Page, name: str) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Purpose").fill(PURPOSE)
    page.get_by_role("button", name="Search").click()


def test_two_slips_or_the_family_name_first_find_the_person_in_the_top_three(
    signed_in: Page, person: Person
) -> None:
    page = signed_in
    expect(page.get_by_label("Name")).to_be_focused()  # `/` is for searching
    given, family = person.display_name.split()
    for typed in (f"{_slip(given, 2)} {_slip(family, 3)}".lower(), f"{family.title()}, {given}"):
        _search(page, typed)
        rows = page.locator("table.results tbody tr")
        expect(rows.first).to_be_visible()
        shown = min(3, rows.count())
        top = [rows.nth(i).locator("a").first.get_attribute("href") or "" for i in range(shown)]
        assert any(f"/persons/{person.person_id}?" in href for href in top), (typed, top)
        mine = page.locator(f"table.results tr:has(a[href^='/persons/{person.person_id}?'])")
        expect(mine).to_contain_text(str(person.record_count))
        assert (mine.locator("td").nth(1).text_content() or "").split()[0] in (
            "exact", "close", "loose"
        )  # fmt: skip
        assert_accessible(page)


def test_results_page_on_and_a_filter_narrows_them(
    signed_in: Page, resolved: tuple[Settings, Database], base: str
) -> None:
    with resolved[1].transaction() as session:
        common = session.scalars(
            select(PersonNameWord.word)
            .group_by(PersonNameWord.word)
            .order_by(func.count().desc(), PersonNameWord.word)
            .limit(40)
        ).all()
        # A word's first four letters find every name they begin: enough for two pages.
        totals = {
            word[:4]: search_persons(session, word[:4], actor=ANN, purpose=PURPOSE).total
            for word in common
            if len(word) >= 4
        }
    word, holders = max(totals.items(), key=lambda item: item[1])
    assert holders > 10, f"the world needs a name common enough for two pages: {totals}"
    page = signed_in
    page.get_by_text("Narrow the search").click()
    page.get_by_label("Per page").select_option("10")
    _search(page, word.title())
    heading = page.get_by_role("heading", level=2)
    expect(heading).to_contain_text(": 1 to 10")
    total = int((heading.text_content() or "").split()[0])
    assert total == holders
    first = page.locator("table.results tbody tr a").first.get_attribute("href")
    page.get_by_role("link", name="Next").click()
    expect(heading).to_contain_text(": 11 to")
    assert page.locator("table.results tbody tr a").first.get_attribute("href") != first
    assert_accessible(page)

    page.get_by_label("Source").fill("no_such_source")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("main")).to_contain_text("No person has a name close to these words")
    page.get_by_label("Born from").fill("1990-02-01")
    page.get_by_label("Source").fill("")
    page.get_by_role("button", name="Search").click()
    narrowed = int((heading.text_content() or "").split()[0])
    assert narrowed < total


def test_the_results_fit_a_phone(browser: Browser, base: str, person: Person) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(base + "/login")
    page.get_by_label("User name").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    _search(page, person.display_name.split()[1])
    expect(page.locator("table.results")).to_be_visible()
    assert horizontal_overflow(page) is None, horizontal_overflow(page)
    assert_accessible(page)
    context.close()
