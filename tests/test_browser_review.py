"""The pair review queue in a real headless Chromium, by keyboard alone: twenty decisions
with reasons, single keys only while the review pane has focus, decisions that persist
across a reload, which resumes at the first undecided pair; and the waterfall page whose
bars add up to the match weight. axe-core checks each page."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from caseline.cases import next_review_pair
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import LinkDecision, ReviewPair
from caseline.oversight import Actor, Role
from tests.browser_support import assert_accessible, horizontal_overflow, serve, signed_in_page

DECISIONS = 20
KEYS = ("s", "d", "u")
OUTCOMES = {"s": "same_person", "d": "different_persons", "u": "unsure"}
ANN = Actor("ann", Role.ANALYST)


@pytest.fixture
def served(mutable_resolved: tuple[Settings, Database], browser: Browser) -> Iterator[str]:
    before = set(browser.contexts)
    with serve(*mutable_resolved) as base:
        yield base
    for context in browser.contexts:
        if context not in before:
            context.close()


def _focused(page: Page) -> str:
    return str(page.evaluate("() => document.activeElement && document.activeElement.id"))


def _tab_to_pane(page: Page) -> None:
    for _ in range(60):
        if _focused(page) == "review-pane":
            return
        page.keyboard.press("Tab")
    raise AssertionError("Tab never reached the review pane")


def _pane_pair(page: Page) -> int:
    return int(page.locator("#review-pane").get_attribute("data-pair-id") or 0)


@pytest.mark.browser
@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_twenty_pairs_are_decided_by_keyboard_alone_and_the_queue_resumes_after_a_reload(
    mutable_resolved: tuple[Settings, Database], served: str, browser: Browser
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        queued = session.scalar(select(func.count()).select_from(ReviewPair)) or 0
    decisions = min(DECISIONS, queued)
    assert decisions >= 5, f"the fixture's queue holds {queued} pairs"
    page = signed_in_page(browser, served, "ann")
    expect(page.get_by_role("link", name="Review pairs")).to_be_visible()
    page.goto(f"{served}/review")
    expect(page.get_by_role("heading", name="Review pairs", level=1)).to_be_visible()
    assert_accessible(page)
    assert horizontal_overflow(page) is None

    # Outside the pane a key is only a key: nothing is chosen, the focus stays.
    page.keyboard.press("Tab")
    assert _focused(page) not in ("review-pane", "reason")
    page.keyboard.press("s")
    assert _focused(page) != "reason"
    expect(page.locator("#decision-form button[aria-pressed='true']")).to_have_count(0)
    expect(page.locator("#chosen")).to_have_text("")

    _tab_to_pane(page)
    first = _pane_pair(page)
    # A reason is required: Enter with none decides nothing; two words are refused.
    page.keyboard.press("s")
    assert _focused(page) == "reason"
    expect(page.locator("#chosen")).to_contain_text("same person")
    page.keyboard.press("Enter")
    assert _pane_pair(page) == first and "decided" not in page.url
    page.keyboard.type("looks alike")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("at least 3 words")
    assert _pane_pair(page) == first
    assert _focused(page) == "review-pane"

    decided: dict[int, str] = {}
    for number in range(decisions):
        assert _focused(page) == "review-pane", f"decision {number}: focus is not on the pane"
        pair = _pane_pair(page)
        assert pair not in decided
        key = KEYS[number % len(KEYS)]
        page.keyboard.press(key)
        assert _focused(page) == "reason"
        page.keyboard.press("Control+A")
        page.keyboard.type(f"checked by keyboard, decision {number}")
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/review?decided={pair}")
        expect(page.locator("#queue-count")).to_contain_text(f"pair {pair} decided")
        decided[pair] = OUTCOMES[key]

    page.reload()
    with database.transaction() as session:
        resumed = next_review_pair(session, ANN)
        stored = {
            row.id: (row.decision, row.decided_by, row.reason)
            for row in session.scalars(select(ReviewPair).where(ReviewPair.id.in_(decided)))
        }
        links = session.scalars(select(LinkDecision)).all()
    assert resumed is not None and resumed.id not in decided
    assert _pane_pair(page) == resumed.id
    assert {pair: outcome for pair, (outcome, _, _) in stored.items()} == decided
    assert {by for _, by, _ in stored.values()} == {"ann"}
    assert all(
        reason and reason.startswith("checked by keyboard") for *_, reason in stored.values()
    )
    assert len(links) == sum(1 for o in decided.values() if o != "unsure")
    rows = page.locator("#decided tbody tr")
    expect(rows).to_have_count(len(decided))
    listed = {int(rows.nth(i).get_attribute("data-pair-id") or 0) for i in range(len(decided))}
    assert listed == set(decided)
    expect(rows.first).to_contain_text("ann")
    expect(rows.first).to_contain_text("checked by keyboard")
    # Every level is in words beside its colour.
    levels = page.locator("#comparison-table td.level")
    assert levels.count() > 0
    for text in levels.all_inner_texts():
        assert any(word in text for word in ("exact", "close", "different", "missing")), text
    assert_accessible(page)


def _bars_add_up(page: Page) -> None:
    chart = page.locator("#waterfall svg")
    total = float(chart.get_attribute("data-total") or "nan")
    steps = [float(w) for w in page.locator("rect.waterfall-step").evaluate_all(
        "bars => bars.map(bar => bar.dataset.weight)"
    )]  # fmt: skip
    (shown,) = page.locator("rect.waterfall-total").evaluate_all(
        "bars => bars.map(bar => bar.dataset.weight)"
    )
    assert len(steps) > 2
    assert sum(steps) == pytest.approx(total, abs=0.01)
    assert float(shown) == pytest.approx(total, abs=0.01)


@pytest.mark.browser
@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_the_waterfall_adds_up_and_says_why_linked_or_why_not(
    mutable_resolved: tuple[Settings, Database], served: str, browser: Browser
) -> None:
    settings, database = mutable_resolved
    with database.transaction() as session:
        above = session.scalars(
            select(ReviewPair)
            .where(ReviewPair.match_probability >= settings.match_threshold)
            .order_by(ReviewPair.id)
        ).first()
        below = session.scalars(
            select(ReviewPair)
            .where(ReviewPair.match_probability < settings.match_threshold)
            .order_by(ReviewPair.id)
        ).first()
    assert above is not None and below is not None
    page = signed_in_page(browser, served, "ann")
    page.goto(f"{served}/review?pair={above.id}")
    page.get_by_role("link", name="the waterfall").click()
    expect(page.get_by_role("heading", name="Why linked", level=1)).to_be_visible()
    _bars_add_up(page)
    assert_accessible(page)
    page.goto(
        f"{served}/pairs/explain?left={below.left_record_id}&right={below.right_record_id}"
        f"&purpose=pair:{below.id}"
    )
    expect(page.get_by_role("heading", name="Why not linked", level=1)).to_be_visible()
    expect(page.locator("#verdict")).to_contain_text("below it")
    _bars_add_up(page)
    # Another pair's purpose does not read this pair.
    page.goto(
        f"{served}/pairs/explain?left={below.left_record_id}&right={below.right_record_id}"
        f"&purpose=pair:{above.id}"
    )
    expect(page.get_by_role("alert")).to_contain_text("not records")
    expect(page.locator("#waterfall")).to_have_count(0)
    assert_accessible(page)
