"""The case board and the case page in a real headless Chromium: an analyst claims a case
nobody works and it moves to theirs; a supervisor assigns one to the analyst; the case page
shows who works it and its history. Every page passes axe-core at 1280 and 390 px."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from caseline.cases import LeadRule, Thresholds, find_leads, open_case, take_step
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import Case
from caseline.oversight import Actor, Role
from tests.browser_support import assert_accessible, horizontal_overflow, serve, signed_in_page
from tests.case_pages import AS_OF, lead_case

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)]

SAM = Actor("sam", Role.SUPERVISOR)
ANN = Actor("ann", Role.ANALYST)


def _seed(settings: Settings, database: Database) -> tuple[int, int]:
    """A case nobody is assigned (opened by ann), and one sam opened that ann began to
    review."""
    unassigned = lead_case(database)
    with database.transaction() as session:
        case = session.get(Case, unassigned)
        assert case is not None
        case.assigned_to = None
        lead = find_leads(session, AS_OF, rules=[LeadRule.REMOVAL_ORDER_NOT_DEPARTED])[0]
        sams = open_case(session, actor=SAM, as_of=AS_OF, lead_id=lead.lead_id)
        take_step(
            session, sams.id, "begin_review", actor=ANN, expected_version=sams.version,
            fields={"reason": "the lead names a removal order"},
            thresholds=Thresholds.of(settings), as_of=AS_OF,
        )  # fmt: skip
    return unassigned, sams.id


@pytest.fixture
def served(mutable_resolved: tuple[Settings, Database], browser: Browser) -> Iterator[str]:
    before = set(browser.contexts)
    with serve(*mutable_resolved) as base:
        yield base
    for context in browser.contexts:
        if context not in before:
            context.close()


def _checked_at_both_widths(page: Page) -> None:
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert_accessible(page)
        assert horizontal_overflow(page) is None, f"{page.url} at {width} px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_an_analyst_claims_a_case_and_a_supervisor_assigns_one(
    mutable_resolved: tuple[Settings, Database], served: str, browser: Browser
) -> None:
    unassigned, sams = _seed(*mutable_resolved)
    ann = signed_in_page(browser, served, "ann")
    ann.goto(served + "/cases")
    card = ann.locator(f"li.card[data-case-id='{unassigned}']")
    expect(card).to_contain_text("Nobody is assigned")
    expect(ann.locator(f"#mine li[data-case-id='{unassigned}']")).to_have_count(0)
    expect(ann.locator(f"li.card[data-case-id='{sams}']")).to_contain_text("Assigned to sam")
    expect(ann.locator(f"li.card[data-case-id='{sams}'] .claim-form")).to_have_count(0)
    expect(ann.locator(".assign-form")).to_have_count(0)  # an analyst assigns nothing
    _checked_at_both_widths(ann)
    claim = card.get_by_role("button", name=f"Claim case {unassigned}")
    claim.focus()  # reachable and pressed from the keyboard
    ann.keyboard.press("Enter")
    expect(ann.locator(f"#mine li[data-case-id='{unassigned}']")).to_be_visible()
    expect(card).to_have_attribute("data-assigned-to", "ann")
    expect(card.locator(".claim-form")).to_have_count(0)

    sam = signed_in_page(browser, served, "sam")
    sam.goto(served + "/cases")
    expect(sam.locator(f"#mine li[data-case-id='{sams}']")).to_be_visible()
    form = sam.locator(f"li.card[data-case-id='{sams}'] .assign-form")
    _checked_at_both_widths(sam)
    form.get_by_label(f"Assign case {sams} to").select_option("ann")
    form.get_by_role("button", name="Assign").click()
    expect(sam.locator(f"#mine li[data-case-id='{sams}']")).to_have_count(0)
    expect(sam.locator(f"li.card[data-case-id='{sams}']")).to_have_attribute(
        "data-assigned-to", "ann"
    )

    ann.reload()
    expect(ann.locator(f"#mine li[data-case-id='{sams}']")).to_be_visible()
    ann.locator(f"#mine li[data-case-id='{sams}']").get_by_role("link").click()
    expect(ann.locator("#case-assignee")).to_have_attribute("data-assigned-to", "ann")
    expect(ann.locator("#case-assignee")).to_contain_text("ann (you)")
    step = ann.locator("li.history-step[data-action='begin_review']")
    expect(step).to_contain_text("By ann (analyst)")
    expect(step.locator(".reason")).to_have_text("Reason: the lead names a removal order")
    expect(step.locator("h3 small")).to_contain_text("→")
    expect(step.locator(".nowrap")).not_to_be_empty()
    expect(ann.locator("#next-steps article.step")).not_to_have_count(0)
    _checked_at_both_widths(ann)
    # The supervisor reassigns from the case page; the analyst no longer works it.
    sam.goto(f"{served}/cases/{sams}")
    sam.get_by_label("Assign to").select_option("sam")
    sam.get_by_role("button", name="Assign").click()
    expect(sam.locator("#case-assignee")).to_have_attribute("data-assigned-to", "sam")
    _checked_at_both_widths(sam)


def test_the_departures_are_reached_from_the_board_and_read_at_both_widths(
    mutable_resolved: tuple[Settings, Database], served: str, browser: Browser
) -> None:
    ann = signed_in_page(browser, served, "ann")
    ann.goto(served + "/cases")
    link = ann.get_by_role("navigation", name="Main").get_by_role("link", name="Departures")
    link.focus()
    ann.keyboard.press("Enter")
    expect(ann.get_by_role("heading", name="Voluntary departures")).to_be_visible()
    rows = ann.locator("table.departures tr.departure")
    expect(rows.first).to_be_visible()
    expect(rows.first).to_have_attribute(
        "data-state", re.compile("verified|probable|pending|overdue")
    )
    states = rows.evaluate_all("rows => rows.map(r => r.dataset.state)")
    ann.get_by_label("State").select_option("overdue")
    ann.get_by_role("button", name="Show departures").click()
    expect(ann).to_have_url(re.compile("state=overdue"))
    expect(rows).to_have_count(states.count("overdue"))
    assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.state)")) <= {"overdue"}
    _checked_at_both_widths(ann)
