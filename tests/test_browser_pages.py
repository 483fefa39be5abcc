"""Every page each role may use, in a real headless Chromium at 1280 and at 390 px wide:
axe-core finds no WCAG 2.1 A/AA violation and nothing spills sideways. The error pages (404,
405, 422) keep the header and say what to do next; the API's errors stay JSON.

One copy of the resolved world and one server for the module, with what the pages show set
up through the packages: a lead, a case with dossiers, a dispute, a purpose waiting for a
countersignature, and an admin and a data engineer besides the world's users.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from caseline.cases import Thresholds, file_dispute, find_leads, take_step
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import IngestRun, Person, PersonRecord
from caseline.oversight import Actor, Role, create_user, seek_countersign
from caseline.server import create_app
from tests.browser_support import accessibility_violations, horizontal_overflow, serve
from tests.case_pages import ANN, AS_OF, lead_case, status_stopped_case
from tests.conftest import ADMIN, PASSWORD, copy_workspace
from tests.web_support import csrf_of, web_sign_in

WIDTHS = (1280, 390)
SEARCH_PURPOSE = "checking a tip about an address"


@dataclass(frozen=True)
class Site:
    base: str
    lead_id: str
    lead_person: str
    name: str  # a name the search finds
    case_id: int
    dispute_id: int
    dossier: str  # the path of a dossier page
    ingest_run: int  # the run that quarantined the most rows


def _set_up(settings: Settings, database: Database) -> Site:
    case_id = status_stopped_case(settings, database)
    ended = lead_case(database)
    with database.transaction() as session:
        terminated = take_step(
            session, ended, "terminate", actor=Actor("lee", Role.LEGAL), expected_version=1,
            fields={"reason": "the person left the country in 2025"},
            thresholds=Thresholds.of(settings), as_of=AS_OF,
        )  # fmt: skip
        create_user(session, "ada", Role.ADMIN, PASSWORD, actor=ADMIN)
        create_user(session, "dan", Role.DATA_ENGINEER, PASSWORD, actor=ADMIN)
        lead = next(x for x in find_leads(session, AS_OF) if x.open_case is None)
        person = session.get(Person, lead.person_id)
        assert person is not None
        row = session.execute(
            select(PersonRecord.person_id, PersonRecord.record_id).order_by(PersonRecord.record_id)
        ).first()
        assert row is not None
        dispute = file_dispute(
            session, Actor("lee", Role.LEGAL), person_id=row[0], record_id=row[1],
            kind="not_me", grounds="another person of the same name",
        )  # fmt: skip
        seek_countersign(session, ANN, f"person:{row[0]}", "an address check for a tip")
        ingest_run = session.scalar(
            select(IngestRun.id).order_by(IngestRun.quarantined.desc(), IngestRun.id)
        )
        assert ingest_run is not None
    dossier = f"/cases/{ended}/dossiers/{terminated.history[-1].id}"
    return Site(
        "", lead.lead_id, lead.person_id, person.display_name, case_id, dispute.id, dossier,
        ingest_run,
    )  # fmt: skip


@pytest.fixture(scope="module")
def site(
    resolved: tuple[Settings, Database], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    with copy_workspace(*resolved, tmp_path_factory.mktemp("pages")) as (settings, database):
        facts = _set_up(settings, database)
        with serve(settings, database) as base:
            yield replace(facts, base=base)


def _pages(site: Site, username: str) -> list[str]:
    """The pages ``username``'s role may use, as paths of the site."""
    search = "/?" + urlencode({"q": site.name.title(), "purpose": SEARCH_PURPOSE})
    case = f"/cases/{site.case_id}?as_of={AS_OF}"
    reviewer = [search, "/cases", case, f"/cases/{site.case_id}/person?as_of={AS_OF}"]
    reviewer += ["/departures"]
    disputes = ["/disputes", f"/disputes/{site.dispute_id}"]
    reports = ["/", "/reports", "/reports/cases-by-state"]
    return {
        "ann": [
            *reviewer,
            f"/persons/{site.lead_person}?purpose=lead:{site.lead_id}",
            f"/leads?as_of={AS_OF}",
            "/review",
        ],
        "sam": [*reviewer, f"/leads?as_of={AS_OF}", *disputes, "/purposes", "/review"],
        "lee": [*reviewer, *disputes],
        "aud": [*reports, "/retention", "/audit"],
        "ada": [*reports, "/users", "/retention"],
        "dan": ["/", "/data", f"/data/ingest/{site.ingest_run}"],
    }[username]


@pytest.fixture
def browser(browser: Browser) -> Iterator[Browser]:
    """The module's browser; the contexts a test opens close after it."""
    before = set(browser.contexts)
    yield browser
    for context in browser.contexts:
        if context not in before:
            context.close()


def _sign_in(browser: Browser, base: str, username: str) -> Page:
    page = browser.new_context(viewport={"width": WIDTHS[0], "height": 900}).new_page()
    page.goto(base + "/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


# The dates and moments a page keeps on one line, drawn on more than one.
_WRAPPED_DATES = """() => [...document.querySelectorAll('span.nowrap')]
  .filter(el => el.getClientRects().length > 1).map(el => el.textContent.trim())"""


def _problems(page: Page, width: int) -> list[str]:
    """What is wrong with the page as shown: axe's violations, a sideways spill, a date
    broken over two lines."""
    where = f"{page.url} at {width} px"
    found = [f"{where}: {violation}" for violation in accessibility_violations(page)]
    spill = horizontal_overflow(page)
    if spill:
        found.append(f"{where}: {spill}")
    found += [f"{where}: {date!r} wraps" for date in page.evaluate(_WRAPPED_DATES)]
    return found


def _check_each(page: Page, base: str, paths: list[str], status: int = 200) -> list[str]:
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            answer = page.goto(base + path)
            assert answer is not None and answer.status == status, (path, answer and answer.status)
            problems += _problems(page, width)
    return problems


@pytest.mark.browser
@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
@pytest.mark.parametrize("username", ["ann", "sam", "lee", "aud", "ada", "dan"])
def test_every_page_of_a_role_is_accessible_and_fits_390_px(
    site: Site, browser: Browser, username: str
) -> None:
    page = _sign_in(browser, site.base, username)
    problems = _check_each(page, site.base, _pages(site, username))
    assert not problems, "\n".join(problems)


@pytest.mark.browser
@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_the_dossier_and_the_sign_in_page_are_accessible_and_fit_390_px(
    site: Site, browser: Browser
) -> None:
    anonymous = browser.new_context().new_page()
    problems = _check_each(anonymous, site.base, ["/login"])
    page = _sign_in(browser, site.base, "sam")
    problems += _check_each(page, site.base, [site.dossier])
    expect(page.locator("#dossier-integrity")).to_contain_text("Intact")
    assert not problems, "\n".join(problems)

    page.set_viewport_size({"width": 720, "height": 1000})  # an A4 page inside its margins
    page.emulate_media(media="print")  # printed: the dossier alone, the page's full width
    for chrome in ("header", "footer", "#raw-json"):
        expect(page.locator(chrome)).to_be_hidden()
    expect(page.locator("#dossier-sha256")).to_be_visible()
    main, window = page.evaluate("() => [document.querySelector('main').offsetWidth, innerWidth]")
    assert main >= window - 1 and horizontal_overflow(page) is None


@pytest.mark.browser
@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_error_pages_keep_the_header_and_say_what_to_do_next(site: Site, browser: Browser) -> None:
    page = _sign_in(browser, site.base, "ann")
    problems = []
    for path, status, said in [
        ("/no/such/page", 404, "There is no page at this address"),
        (f"/cases/{site.case_id + 1000}", 404, "no case"),
        ("/logout", 405, "does not take this kind of request"),
        ("/?" + urlencode({"q": "x" * 201}), 422, "(q) is longer than 200 characters"),
        ("/leads?as_of=2026-13-01", 422, "as_of: '2026-13-01' is not a date"),
    ]:
        problems += _check_each(page, site.base, [path], status)
        main = page.get_by_role("navigation", name="Main")
        expect(main.get_by_role("link", name="Search")).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        expect(page.locator("section.error-page")).to_have_attribute("data-status", str(status))
        expect(page.get_by_role("alert")).to_contain_text(f"Error {status}")
        expect(page.get_by_role("alert")).to_contain_text(said)
        expect(page.locator("#error-next")).to_contain_text("Go to the search")
    assert not problems, "\n".join(problems)


@pytest.mark.browser
@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_an_error_page_offers_the_way_back_to_the_page_that_linked_to_it(
    site: Site, browser: Browser
) -> None:
    page = _sign_in(browser, site.base, "aud")
    page.goto(site.base + "/reports/no-such-report", referer=site.base + "/reports")
    expect(page.locator("section.error-page")).to_have_attribute("data-status", "404")
    page.locator("#error-back").click()
    expect(page).to_have_url(site.base + "/reports")


def test_the_api_answers_errors_in_json_and_the_site_in_pages(
    resolved: tuple[Settings, Database],
) -> None:
    app = create_app(*resolved)

    def explode() -> None:
        raise RuntimeError("a fault of the site's own")

    app.add_api_route("/explode", explode)
    app.add_api_route("/api/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        stranger = client.get("/no/such/page")
        assert stranger.status_code == 404
        assert stranger.headers["content-type"].startswith("text/html")
        assert 'href="/login" id="error-sign-in"' in stranger.text
        assert "Sign out" not in stranger.text
        web_sign_in(client, "ann", PASSWORD)
        for path, status, said in [
            ("/no/such/page", 404, "There is no page at this address."),
            ("/logout", 405, "This address does not take this kind of request"),
            ("/?q=" + "x" * 201, 422, "the name searched for (q) is longer than 200 characters"),
            ("/leads?as_of=2026-13-011", 422, "the day (as_of) is longer than 10 characters"),
            ("/cases/not-a-number", 422, "case_id (case_id) is not a whole number"),
            ("/users", 403, "may not manage users"),
            ("/explode", 500, "The site failed to answer this request"),
        ]:
            page = client.get(path)
            assert page.status_code == status, (path, page.text)
            assert page.headers["content-type"].startswith("text/html"), path
            assert said in page.text, (path, page.text)
            assert '<nav aria-label="Main">' in page.text and "Sign out</button>" in page.text
            assert "Traceback" not in page.text and '"detail"' not in page.text
        assert client.get("/logout").headers["allow"] == "POST"
        assert client.get("/explode").headers["content-security-policy"]
        csrf = {"X-CSRF-Token": csrf_of(client.get("/").text)}
        for path, status in [("/api/no/such", 404), ("/api/cases/x", 422), ("/api/explode", 500)]:
            answer = client.get(path, headers=csrf)
            assert answer.status_code == status and "detail" in answer.json(), path
        assert "Traceback" not in client.get("/api/explode").text


@pytest.mark.browser
@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_the_profile_shows_record_ids_and_file_hashes_as_text_at_390_px(
    site: Site, browser: Browser
) -> None:
    page = _sign_in(browser, site.base, "ann")
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"{site.base}/persons/{site.lead_person}?purpose=lead:{site.lead_id}")
    record = page.locator("table.records tbody tr").first
    expect(record.locator("td.provenance code").first).to_have_text(re.compile(r"\S{8,}"))
    expect(record.locator("td.provenance code.hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    names = page.locator("section dl.attributes dd").first
    listed = names.locator("details.record-ids")
    if listed.count():  # a value many records state lists them on demand, not on hover
        listed.first.locator("summary").click()
    expect(names.locator("code").first).to_be_visible()
    assert not page.locator("[title^='records:'], td.provenance[title]").count()


# Every element a keyboard reaches, in document order (not one hidden or in a closed
# details element).
_TABBABLE = """() => [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex="0"]')]
  .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden'
    && (el.matches('summary') || !el.closest('details:not([open])')))
  .map(el => el.outerHTML.slice(0, 80))"""
# The focused element and whether it shows the focus ring (a date input's calendar button,
# focused inside the input, draws the browser's own ring).
_FOCUSED = """() => { const el = document.activeElement, style = getComputedStyle(el);
  const picker = el.matches('input[type=date]') && !el.matches(':focus');
  return [el.outerHTML.slice(0, 80), picker || style.outlineStyle !== 'none' &&
          parseFloat(style.outlineWidth) >= 2]; }"""


@pytest.mark.browser
@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_the_keyboard_reaches_every_control_with_its_focus_visible_and_gets_out(
    site: Site, browser: Browser
) -> None:
    page = _sign_in(browser, site.base, "ann")
    for path in (f"/cases/{site.case_id}?as_of={AS_OF}", f"/persons/{site.lead_person}"
                 f"?purpose=lead:{site.lead_id}"):  # fmt: skip
        page.goto(site.base + path)
        tabbable = page.evaluate(_TABBABLE)
        reached: list[str] = []
        unseen = []
        for _ in range(3 * len(tabbable)):  # a date input takes a Tab per part of the date
            page.keyboard.press("Tab")
            element, outlined = page.evaluate(_FOCUSED)
            if element.startswith("<body"):
                break
            if not reached or reached[-1] != element:
                reached.append(element)
            if not outlined:
                unseen.append(element)
            if len(reached) == len(tabbable):
                break
        assert not unseen, f"{path}: focus not visible on {unseen}"
        missed = [element for element in tabbable if element not in reached]
        assert reached == tabbable, f"{path}: the keyboard stops or skips {missed}"
        while page.evaluate(_FOCUSED)[0] == reached[-1]:
            page.keyboard.press("Tab")
        # past the last control: out of the page, no trap
        assert page.evaluate("() => document.activeElement === document.body")
