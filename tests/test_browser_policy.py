"""The priority policy in a real headless Chromium: an auditor reads it and a version's impact
report, an analyst sees why each lead and case ranks where it does; every page accessible
(axe-core) and fitting 1280 and 390 px."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from caseline.cases import measure_policy_impact, parse_policy, propose_policy, publish_policy
from caseline.config import Settings
from caseline.db import Database
from caseline.oversight import Actor, Role
from tests.browser_support import assert_accessible, horizontal_overflow, serve
from tests.case_pages import lead_case
from tests.conftest import PASSWORD
from tests.test_policy import AS_OF, policy_text, rule

WIDTHS = (1280, 390)


@pytest.fixture
def served(mutable_resolved: tuple[Settings, Database], browser: Browser) -> Iterator[str]:
    _, database = mutable_resolved
    text = policy_text(
        rule("stay_ended", "{overstay_days: {at_least: 1}}", weight=90),
        rule("order", "{final_order: true}", weight=5),
    )
    with database.transaction() as session:
        policy = parse_policy(text, where="t")
        sam = Actor("sam", Role.SUPERVISOR)
        impact = measure_policy_impact(session, policy, as_of=AS_OF, actor=sam)
        version = propose_policy(session, text, where="t", impact=impact, actor=sam).version
        publish_policy(session, version, actor=Actor("adm", Role.ADMIN))
    before = set(browser.contexts)
    with serve(*mutable_resolved) as base:
        yield base
    for context in browser.contexts:
        if context not in before:
            context.close()


def _sign_in(browser: Browser, base: str, username: str, width: int) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(base + "/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


def _check(page: Page, width: int) -> None:
    assert_accessible(page)
    assert horizontal_overflow(page) is None, f"{page.url} at {width} px"


@pytest.mark.browser
@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
@pytest.mark.parametrize("width", WIDTHS)
def test_an_auditor_reads_the_policy_and_an_analyst_sees_why_each_lead_and_case_ranks(
    mutable_resolved: tuple[Settings, Database], served: str, browser: Browser, width: int
) -> None:
    case_id = lead_case(mutable_resolved[1])
    auditor = _sign_in(browser, served, "aud", width)
    if width > 800:
        auditor.get_by_role("link", name="Policy").click()
    else:
        auditor.goto(f"{served}/policy")
    expect(auditor.get_by_role("heading", name="Priority policy")).to_be_visible()
    expect(auditor.locator("tr[data-rule='stay_ended']").first).to_contain_text("+90")
    _check(auditor, width)
    auditor.get_by_role("link", name="v1").click()
    expect(auditor.locator("#impact")).to_be_visible()
    _check(auditor, width)
    analyst = _sign_in(browser, served, "ann", width)
    analyst.goto(f"{served}/leads?as_of={AS_OF}")
    first = analyst.locator("tr[data-lead-id]").first
    expect(first.locator(".priority")).to_contain_text("ranked by policy v1: stay_ended (+90)")
    _check(analyst, width)
    analyst.goto(f"{served}/cases/{case_id}?as_of={AS_OF}")
    expect(analyst.locator("#case-priority")).to_contain_text("ranked by policy v1: stay_ended")
    expect(analyst.locator("#case-opened-priority")).to_contain_text("policy v1")
    _check(analyst, width)
    analyst.goto(f"{served}/cases?as_of={AS_OF}")
    card = analyst.locator(f"li.card[data-case-id='{case_id}'] .priority")
    expect(card).to_contain_text("ranked by policy v1")
    _check(analyst, width)
