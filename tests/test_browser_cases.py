"""Cases through the web UI, in a real headless Chromium: a case walked from its lead to an
outcome by the people whose steps they are, a status stop cleared by legal, a stale form.

Each test takes a copy of the resolved world and a server of its own. With
CASELINE_SCREENSHOTS=DIR the walk also saves the leads, board, case and dossier pages there
(scripts/case-screenshots makes the images in docs/images this way).
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from caseline.cases import Thresholds, find_leads, open_case, take_step
from caseline.config import Settings
from caseline.db import Database
from tests.browser_support import assert_accessible, serve, signed_in_page
from tests.case_pages import ANN, AS_OF, lead_case, status_stopped_case, walkable_lead

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)]

SHOTS = os.environ.get("CASELINE_SCREENSHOTS")


@pytest.fixture
def world(mutable_resolved: tuple[Settings, Database]) -> Iterator[tuple[Settings, Database, str]]:
    settings, database = mutable_resolved
    with serve(settings, database) as base:
        yield settings, database, base


@pytest.fixture
def browser(browser: Browser) -> Iterator[Browser]:
    """The session's browser; the contexts a test opens (one per user) close after it."""
    before = set(browser.contexts)
    yield browser
    for context in browser.contexts:
        if context not in before:
            context.close()


def _take(page: Page, action: str, target: str, **fields: str) -> None:
    """Fill in the step's form on the case page, submit it, and see the case reach ``target``."""
    form = page.locator(f"form.step-form[data-action='{action}']")
    if "address" in fields:
        form.get_by_label("Address").select_option(fields["address"])
    if "hearing_on" in fields:
        form.get_by_label("Hearing on").fill(fields["hearing_on"])
    if "deadline" in fields:
        form.get_by_label("Departure deadline").fill(fields["deadline"])
    if "reason" in fields:
        form.get_by_label("Reason").fill(fields["reason"])
    form.get_by_role("button").click()
    expect(page.locator("#refusal")).to_have_count(0)
    expect(page.locator("#case-state")).to_have_attribute("data-state", target)


def _refused_without_a_reason(page: Page, action: str) -> None:
    """The reason is a required, labelled field: the browser holds back an empty one, and the
    server refuses one of blanks, saying why beside the field, and the case stays as it was."""
    form = page.locator(f"form.step-form[data-action='{action}']")
    reason = form.get_by_label("Reason")
    expect(reason).to_have_attribute("required", "")
    expect(form.locator("label", has=page.locator("textarea[name='reason']"))).to_contain_text(
        "required"
    )
    version = page.locator("#case-version").inner_text()
    form.get_by_role("button").click()  # empty: the browser does not send it
    assert reason.evaluate("field => field.validity.valueMissing")
    reason.fill("     ")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        form.get_by_role("button").click()
    assert answer.value.status == 422
    expect(page.locator("#refusal")).to_have_attribute("data-kind", "InputError")
    error = form.locator(f"#{action}-reason-error")
    expect(error).to_contain_text(f"{action} needs a reason of at least 5 characters")
    expect(reason).to_have_attribute("aria-describedby", f"{action}-reason-error")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#case-version")).to_have_text(version)
    expect(page.locator("li.history-step")).to_have_count(0)
    assert_accessible(page)


def _shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"cases-{name}.png"), full_page=full_page)


def test_a_case_walks_from_its_lead_to_removal_through_the_pages(
    browser: Browser, world: tuple[Settings, Database, str]
) -> None:
    settings, database, base = world
    lead_id, address = walkable_lead(settings, database)
    ann = signed_in_page(browser, base, "ann")
    expect(ann.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
        ["Search", "Leads", "Cases", "Departures", "Review pairs", "Policy"]
    )
    ann.goto(f"{base}/leads?as_of={AS_OF}")
    ann.get_by_label("Rule").select_option("removal_order_not_departed")
    ann.get_by_role("button", name="Show leads").click()
    rows = ann.locator("table.leads tbody tr")
    expect(rows.first).to_have_attribute("data-rule", "removal_order_not_departed")
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.rule)")) == {
        "removal_order_not_departed"
    }
    assert_accessible(ann)
    _shoot(ann, "leads")
    ann.locator(f"tr[data-lead-id='{lead_id}']").get_by_role("button", name="Open case").click()
    expect(ann.locator("#case-state")).to_have_attribute("data-state", "lead")
    case_url = ann.url
    assert f"as_of={AS_OF}" in case_url
    expect(ann.locator("#case-origin")).to_contain_text("final removal order")
    assert_accessible(ann)

    _refused_without_a_reason(ann, "begin_review")
    _take(ann, "begin_review", "identity_review", reason="a final order, no exit since")
    confirm = ann.locator("#step-confirm_identity")
    expect(confirm).to_have_attribute("data-blocked", "true")
    expect(confirm.locator("li[data-guard='identity_seen']")).to_contain_text("Clears by")
    ann.get_by_role("link", name="Read the person's records for this case").click()
    expect(ann.locator("#case-context")).to_contain_text("Read for case")
    expect(ann.locator("#status")).to_be_visible()
    assert_accessible(ann)
    ann.get_by_role("link", name="back to case").click()
    expect(confirm).to_have_attribute("data-blocked", "false")
    _take(ann, "confirm_identity", "status_review", reason="records and links checked")
    assert_accessible(ann)
    _shoot(ann, "case")
    _take(ann, "propose_action", "supervisor_approval", address=address, reason="likeliest address")
    expect(ann.locator("#case-address")).to_have_text(address)

    sam = signed_in_page(browser, base, "sam")
    sam.goto(case_url)
    _take(sam, "approve_action", "enforcement_action", reason="approved: guards pass")
    ann.goto(case_url)
    _take(ann, "serve_notice", "notice", reason="served at the address")
    lee = signed_in_page(browser, base, "lee")
    expect(lee.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
        ["Search", "Cases", "Departures", "Disputes", "Policy"]
    )
    lee.goto(case_url)
    _take(lee, "schedule_hearing", "hearing", hearing_on="2026-03-01", reason="on the calendar")
    _take(lee, "record_removal_order", "order", reason="the judge ordered removal")
    sam.goto(case_url)
    _take(sam, "carry_out_removal", "removed", reason="removed as ordered")
    expect(sam.locator("#next-steps")).to_contain_text("the case has reached an outcome")
    assert_accessible(sam)
    steps = sam.locator("ol.history li.history-step")
    expect(steps).to_have_count(8)
    expect(steps.first.locator("h3 small")).to_have_text("lead → identity review")
    expect(steps.first).to_contain_text(re.compile(r"By ann \(analyst\) on \d{4}-\d\d-\d\d"))
    expect(steps.locator(".reason")).to_have_text(
        [re.compile(r"^Reason: \S.{4,}")] * 8  # every step keeps a reason
    )
    expect(steps.first.locator(".reason")).to_have_text("Reason: a final order, no exit since")

    last = steps.last
    kept = last.locator("code.hash").inner_text()
    last.get_by_role("link", name="Dossier of carry out removal").click()
    expect(sam.locator("#dossier-integrity")).to_contain_text("Intact")
    expect(sam.locator("#dossier-person")).to_contain_text("Person unchanged")
    expect(sam.locator("#dossier-sha256")).to_have_text(kept)
    expect(sam.locator("#raw-json")).to_have_attribute("href", f"/api/{sam.url.split('/', 3)[3]}")
    assert_accessible(sam)
    _shoot(sam, "dossier", full_page=False)

    sam.get_by_role("link", name="Cases").click()
    case_id = case_url.split("/cases/")[1].split("?")[0]
    expect(sam.locator("#state-removed li.card")).to_have_attribute("data-case-id", case_id)
    expect(sam.locator("#state-removed")).to_contain_text("Case " + case_id)
    assert_accessible(sam)
    if SHOTS:
        _more_cases(database)
        sam.reload()
        _shoot(sam, "board")


def _more_cases(database: Database) -> None:
    """A few more cases, in early states, so that the board's picture shows a board."""
    thresholds = Thresholds(identity=0.95, address=0.5)
    with database.transaction() as session:
        leads = [lead for lead in find_leads(session, AS_OF) if lead.open_case is None][:4]
        for n, lead in enumerate(leads):
            case = open_case(session, actor=ANN, as_of=AS_OF, lead_id=lead.lead_id)
            if n % 2:
                take_step(
                    session, case.id, "begin_review", actor=ANN, expected_version=case.version,
                    fields={"reason": "worth a review"}, thresholds=thresholds, as_of=AS_OF,
                )  # fmt: skip


def test_a_status_stop_shows_on_the_case_until_legal_clears_it(
    browser: Browser, world: tuple[Settings, Database, str]
) -> None:
    settings, database, base = world
    case_id = status_stopped_case(settings, database)
    case_url = f"{base}/cases/{case_id}?as_of={AS_OF}"
    ann = signed_in_page(browser, base, "ann")
    ann.goto(case_url)
    propose = ann.locator("#step-propose_action")
    expect(propose).to_have_attribute("data-blocked", "true")
    stop = propose.locator("li[data-guard='status_clear']")
    expect(stop).to_have_attribute("data-passed", "false")
    expect(stop).to_contain_text("Fails")
    expect(stop).to_contain_text(re.compile(r"status stop: .*permanent_resident"))
    expect(stop).to_contain_text("Clears by: a legal reviewer's clear_status")
    # the analyst sees the legal step and who takes it, but no form for it
    expect(ann.locator("#step-clear_status")).to_contain_text("taken by legal")
    expect(ann.locator("form[data-action='clear_status']")).to_have_count(0)
    assert_accessible(ann)
    # the person read for the case shows the record that stops it
    ann.get_by_role("link", name="Read the person's records for this case").click()
    stopping = ann.locator("#status tr[data-term='permanent_resident']")
    expect(stopping.first).to_contain_text("Stops a case")
    assert_accessible(ann)

    lee = signed_in_page(browser, base, "lee")
    lee.goto(case_url)
    _take(lee, "clear_status", "status_review", reason="the residence card was revoked in 2020")
    expect(lee.locator("li.history-step").last).to_contain_text("revoked in 2020")

    ann.goto(case_url)
    cleared = ann.locator("#step-propose_action li[data-guard='status_clear']")
    expect(cleared).to_have_attribute("data-passed", "true")
    expect(cleared).to_contain_text("cleared by legal review")
    # Cleared of the stop, a case opened on a tip still needs grounds on the person's records.
    grounds = ann.locator("#step-propose_action li[data-guard='grounds']")
    expect(grounds).to_have_attribute("data-passed", "false")
    expect(grounds).to_contain_text("no lead rule finds grounds on the person's own records")
    expect(ann.locator("#step-propose_action")).to_have_attribute("data-blocked", "true")


def test_a_stale_form_shows_the_conflict_and_the_case_as_it_is(
    browser: Browser, world: tuple[Settings, Database, str]
) -> None:
    _, database, base = world
    case_url = f"{base}/cases/{lead_case(database)}?as_of={AS_OF}"
    first = signed_in_page(browser, base, "ann")
    second = first.context.new_page()
    first.goto(case_url)
    second.goto(case_url)
    _take(first, "begin_review", "identity_review", reason="the stay ended, no exit")

    stale = second.locator("form[data-action='begin_review']")
    stale.get_by_label("Reason").fill("the stay ended, no exit")
    with second.expect_response(lambda r: r.request.method == "POST") as answer:
        stale.get_by_role("button").click()
    assert answer.value.status == 409
    refusal = second.locator("#refusal")
    expect(refusal).to_have_attribute("data-kind", "ConflictError")
    expect(refusal).to_contain_text("Someone else moved this case first")
    expect(refusal).to_contain_text("now identity_review at version 2")
    assert_accessible(second)
    expect(second.locator("#case-state")).to_have_attribute("data-state", "identity_review")
    expect(second.locator("#case-version")).to_have_text("2")
    expect(second.locator("li.history-step")).to_have_count(1)
    # the page now offers the steps of the state the case is in, at its version
    version = second.locator("form[data-action='confirm_identity'] [name='expected_version']")
    expect(version).to_have_value("2")
