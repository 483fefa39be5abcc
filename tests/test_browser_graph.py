"""The link graph page in a real headless Chromium: the drawing and the tables of the same
nodes and edges, "+k more" when the cap cuts, an edge's waterfall reached by keyboard from
the table and from the drawing, axe-core on each page, and 390 px without sideways spill."""

import re
from collections import defaultdict
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import PersonNameWord, PersonRecord
from caseline.oversight import Actor, Role
from tests.browser_support import assert_accessible, horizontal_overflow, serve, signed_in_page
from tests.conftest import copy_workspace
from tests.purpose_support import countersigned

ANN = Actor("ann", Role.ANALYST)
REASON = "link graph review in the browser"
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)]


@pytest.fixture(scope="module")
def world(
    resolved: tuple[Settings, Database], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, Database]]:
    with copy_workspace(*resolved, tmp_path_factory.mktemp("graph-browser")) as copy:
        yield copy


@pytest.fixture(scope="module")
def focal(world: tuple[Settings, Database]) -> str:
    """The person of most records with a namesake (two name words shared), so that an edge
    leaves the person; the reason to read it countersigned for ann."""
    _, database = world
    with database.transaction() as session:
        words: defaultdict[str, set[str]] = defaultdict(set)
        for word, person in session.execute(select(PersonNameWord.word, PersonNameWord.person_id)):
            words[person].add(word)
        sizes = dict(
            session.execute(
                select(PersonRecord.person_id, func.count()).group_by(PersonRecord.person_id)
            ).all()
        )
    holders: defaultdict[str, set[str]] = defaultdict(set)
    for person, held in words.items():
        for word in held:
            holders[word].add(person)

    def has_namesake(person: str) -> bool:
        others = [o for w in words[person] for o in holders[w] if o != person]
        return any(others.count(o) >= 2 for o in set(others))

    person = next(p for p in sorted(sizes, key=lambda p: (-sizes[p], p)) if has_namesake(p))
    countersigned(database, ANN, person, REASON)
    return person


@pytest.fixture(scope="module")
def served(world: tuple[Settings, Database], browser: Browser) -> Iterator[str]:
    before = set(browser.contexts)
    with serve(*world) as base:
        yield base
    for context in browser.contexts:
        if context not in before:
            context.close()


def _graph_url(served: str, person: str, **params: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"purpose": REASON, **params}.items())
    return f"{served}/persons/{person}/graph?{query.replace(' ', '+')}"


def _focused(page: Page) -> str:
    return str(page.evaluate("() => document.activeElement?.dataset?.explain !== undefined"))


def test_the_page_draws_the_graph_and_tables_of_the_same_nodes_and_edges(
    served: str, browser: Browser, focal: str
) -> None:
    page = signed_in_page(browser, served, "ann")
    page.goto(f"{served}/persons/{focal}?purpose={REASON.replace(' ', '+')}")
    page.get_by_role("link", name="Link graph").click()
    expect(page.get_by_role("heading", name="Link graph", level=1)).to_be_visible()
    canvas = page.locator("#graph-canvas")
    expect(canvas.locator("canvas").first).to_be_attached()
    edges = page.locator("#graph-edges tbody tr")
    records = page.locator("#graph-records tbody tr")
    persons = page.locator("#graph-persons tbody tr")
    drawn = int(canvas.get_attribute("data-drawn") or 0)
    single = persons.filter(has_text="one node")  # a neighbour drawn as one node
    assert drawn == records.count() + single.count() and single.count() >= 1
    assert edges.count() >= 1
    expect(page.locator("#graph-more")).to_contain_text("Every node")
    assert_accessible(page)

    page.goto(_graph_url(served, focal, hops=1, cap=5))
    expect(page.locator("#graph-more")).to_contain_text("+")
    expect(page.locator("#graph-more")).to_contain_text("more records of this person")
    assert records.count() == 4  # the cap: the person and four of its records
    assert_accessible(page)

    page.goto(_graph_url(served, focal, hops=9))
    expect(page.locator("#graph-error")).to_contain_text("hops")
    assert_accessible(page)


def test_the_keyboard_reaches_an_edge_in_the_table_and_opens_its_waterfall(
    served: str, browser: Browser, focal: str
) -> None:
    page = signed_in_page(browser, served, "ann")
    page.goto(_graph_url(served, focal))
    expect(page.locator("#graph-canvas canvas").first).to_be_attached()
    for _ in range(80):
        page.keyboard.press("Tab")
        if _focused(page) == "True":
            break
    else:
        raise AssertionError("Tab never reached an edge's waterfall link")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/pairs/explain\?"))
    expect(page.locator("#verdict")).to_contain_text("Match weight")
    assert_accessible(page)


def test_the_drawing_opens_an_edge_by_arrow_keys_and_enter(
    served: str, browser: Browser, focal: str
) -> None:
    page = signed_in_page(browser, served, "ann")
    page.goto(_graph_url(served, focal))
    canvas = page.locator("#graph-canvas")
    expect(canvas.locator("canvas").first).to_be_attached()
    canvas.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#graph-selected")).to_contain_text("Edge 1 of")
    page.keyboard.press("Enter")
    page.wait_for_url("**/pairs/explain?**")
    expect(page.locator("#verdict")).to_contain_text("Match weight")


def test_the_page_fits_390_px(served: str, browser: Browser, focal: str) -> None:
    page = signed_in_page(browser, served, "ann")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(_graph_url(served, focal, hops=2, cap=200))
    expect(page.locator("#graph-canvas canvas").first).to_be_attached()
    expect(page.locator("#graph-records")).to_contain_text("Not shown: another person's record")
    assert horizontal_overflow(page) is None
    assert_accessible(page)
