"""A person's path through the web UI, in a real headless Chromium."""

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from caseline.cases import find_leads
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, Person
from tests.browser_support import assert_accessible, serve
from tests.conftest import PASSWORD, last_audit_seq

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)]


@pytest.fixture(scope="module")
def live_server(resolved: tuple[Settings, Database]) -> Iterator[str]:
    with serve(*resolved) as base:
        yield base


def test_sign_in_search_a_name_and_open_the_profile(
    page: Page, live_server: str, resolved: tuple[Settings, Database]
) -> None:
    _, database = resolved
    with database.transaction() as session:
        lead = next(x for x in find_leads(session, dt.date.today()) if x.open_case is None)
        person = session.get(Person, lead.person_id)
    assert person is not None
    since = last_audit_seq(database)

    page.goto(live_server + "/")
    expect(page).to_have_url(live_server + "/login")
    assert_accessible(page)
    page.get_by_label("User name").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_label("Name").fill(person.display_name.title())
    page.get_by_label("Purpose").fill("browser test of identity review")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(f"a[href^='/persons/{person.person_id}?']")).to_be_visible()
    assert_accessible(page)
    page.locator(
        f"a[href^='/persons/{person.person_id}?']"
    ).click()  # one of maybe several namesakes
    # A search's reason does not open a profile: the reader picks the work it is for.
    expect(page.locator("#purpose-refusal")).to_contain_text("countersignature")
    assert_accessible(page)
    page.locator("#purpose-choices").get_by_role("link", name=f"lead: {lead.found}").click()

    expect(page.locator("#person-name")).to_have_text(person.display_name)
    expect(page.locator("table.records tbody tr")).to_have_count(person.record_count)
    # address confidence: a bar per address and one for "not on record", with the evidence
    rows = page.locator("table.addresses tbody tr")
    expect(rows.last).to_contain_text("Somewhere not on record")
    stated = [float(p) for p in rows.evaluate_all("rs => rs.map(r => r.dataset.probability)")]
    assert len(stated) >= 2 and sum(stated) == pytest.approx(1.0, abs=1e-3)
    expect(rows.first.locator("td.evidence")).to_contain_text("seen")
    expect(page.locator("table.addresses [role=meter]")).to_have_count(len(stated))
    expect(page.locator("#identity [role=meter]")).to_have_count(1)
    expect(page.locator("#history")).to_contain_text("History")
    assert_accessible(page)
    with database.transaction() as session:
        reads = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "read_person",
                AuditEvent.object_id == person.person_id,
                AuditEvent.seq > since,
            )
        ).all()
    assert any(e.actor == "ann" and e.purpose == f"lead:{lead.lead_id}" for e in reads)
