"""The data engineer's pages in a real headless Chromium: signed in, the landing page links the
runs; the runs page shows both lists with their charts and the charts' text labels; a file's
problems show its rows as written, wrapped inside their cell on a phone. axe-core finds no
violation at 1280 and 390 px wide, and nothing spills sideways."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from caseline.config import Settings
from caseline.db import Database
from caseline.ingest import ingest_file
from caseline.oversight import Role, create_user
from caseline.resolve import evaluate_resolution
from caseline.synth import WorldSummary
from tests.browser_support import assert_accessible, horizontal_overflow, serve
from tests.conftest import ADMIN, OPERATOR, PASSWORD, copy_workspace

WIDTHS = (1280, 390)
LONG_NAME = "X" * 400  # one word no narrow cell can hold unwrapped
BAD_FILE = (
    "account_number,customer_name,service_address,service_city,service_state,service_zip,"
    "service_start,service_end\n"
    "U1,Ann Lee,1 Main St,Springfield,IL,62704,2020-13-01,\n"
    "U2,<b>bold</b> Ray,2 Main St\n"
    f"U3,{LONG_NAME},3 Main St\n"
)


@pytest.fixture(scope="module")
def site(
    resolved: tuple[Settings, Database],
    small_world: WorldSummary,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """A copy of the resolved world with a data engineer, a file with bad rows and an
    evaluation of the persons, served."""
    home = tmp_path_factory.mktemp("data-pages")
    with copy_workspace(*resolved, home / "copy") as (settings, database):
        bad = home / "utility-bad.csv"
        bad.write_text(BAD_FILE, encoding="utf-8")
        with database.transaction() as session:
            create_user(session, "dan", Role.DATA_ENGINEER, PASSWORD, actor=ADMIN)
            ingest_file(
                session, bad, "utility", identifier_key=settings.identifier_key, actor=OPERATOR
            )
            evaluate_resolution(session, small_world.truth_file, actor=OPERATOR)
        with serve(settings, database) as base:
            yield base


@pytest.fixture
def page(browser: Browser, site: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
    opened = context.new_page()
    opened.goto(site + "/login")
    opened.get_by_label("User name").fill("dan")
    opened.get_by_label("Password").fill(PASSWORD)
    opened.get_by_role("button", name="Sign in").click()
    expect(opened.get_by_role("button", name="Sign out")).to_be_visible()
    yield opened
    context.close()


def _fits_and_passes_axe(page: Page) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert_accessible(page)
        spill = horizontal_overflow(page)
        assert not spill, f"{page.url} spills sideways at {width} px: {spill}"
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


@pytest.mark.browser
@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_a_data_engineer_reads_the_runs_and_a_files_problems(page: Page, tmp_path: Path) -> None:
    landing = page.get_by_role("main").get_by_role("link", name="/data").first
    expect(landing).to_be_visible()
    _fits_and_passes_axe(page)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(["Data"])
    landing.click()
    expect(page.get_by_role("heading", name="Data", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Data", exact=True)).to_have_attribute(
        "aria-current", "page"
    )

    files = page.locator("#ingest-chart svg")
    expect(files).to_be_visible()
    for label in ("Rows loaded", "Rows quarantined", "Values left out", "utility-bad.csv"):
        expect(files.locator("text", has_text=label).first).to_be_visible()
    # Bars are as long as their values (the largest file's the longest), and each says its
    # value in words: the bad file's two quarantined rows.
    rows = files.locator("g.loaded g.bar-row").all()
    loaded = [int((r.locator("text.value").text_content() or "").replace(",", "")) for r in rows]
    widths = [(r.locator("rect").bounding_box() or {"width": 0})["width"] for r in rows]
    assert len(rows) == 7 and widths.index(max(widths)) == loaded.index(max(loaded))
    assert loaded[0] == 1 and widths[0] < max(widths) / 100  # the bad file: newest, one row
    quarantined = files.locator("g.quarantined g.bar-row").filter(has_text="utility-bad.csv")
    expect(quarantined.locator("text.value")).to_have_text("2")
    f1 = page.locator("#f1-chart svg")
    expect(f1.locator("text", has_text="F1 per naming group")).to_be_visible()
    overall = f1.locator("g.bar-row").filter(has=page.locator("rect.emphasis"))
    expect(overall.locator("text").first).to_have_text("all")
    f1_text = overall.locator("text.value").text_content() or ""
    row = page.locator("tr[data-resolution-run]")
    expect(row).to_have_count(1)
    expect(row.locator("td.f1")).to_have_text(f1_text)
    page.screenshot(path=tmp_path / "data-1280.png", full_page=True)
    _fits_and_passes_axe(page)
    page.set_viewport_size({"width": 390, "height": 900})
    page.screenshot(path=tmp_path / "data-390.png", full_page=True)

    page.get_by_role("link", name="utility-bad.csv").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("utility-bad.csv")
    expect(page.get_by_role("heading", name="1\u20133 of 3 problems")).to_be_visible()
    raw = page.locator("tr[data-line='3'] td.raw code")
    expect(raw).to_have_text("U2,<b>bold</b> Ray,2 Main St")  # as written, not as HTML
    expect(page.locator("td.raw b")).to_have_count(0)
    long_cell = page.locator("tr[data-line='4'] td.raw")
    cell = long_cell.bounding_box()
    text = long_cell.locator("code").bounding_box()
    assert cell is not None and text is not None
    assert text["x"] + text["width"] <= cell["x"] + cell["width"] + 1  # wrapped inside
    assert text["height"] > 3 * 16  # over several lines
    page.screenshot(path=tmp_path / "problems-390.png", full_page=True)
    _fits_and_passes_axe(page)
    page.get_by_role("link", name="All runs").click()
    expect(page.get_by_role("heading", name="Data", level=1)).to_be_visible()
