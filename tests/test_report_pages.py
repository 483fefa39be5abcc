"""The reports that grow with use (the reads without a case, the overdue departures) are
shown a page at a time: the pages hold every row of the whole report, in its order, each
read audited with the rows it showed; the CSV and the API still give every row."""

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from caseline.cases import REPORT_PAGE, ReportPage, Thresholds, read_report, read_report_page
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, Person
from caseline.errors import InputError
from caseline.oversight import Actor, Period, Report, Role
from caseline.oversight.audit import AuditEntry, record_event
from caseline.server import create_app
from tests.browser_support import assert_accessible, horizontal_overflow, serve, signed_in_page
from tests.case_pages import AS_OF
from tests.conftest import PASSWORD, last_audit_seq
from tests.web_support import web_sign_in

AUD = Actor("aud", Role.AUDITOR)
SEEDED = REPORT_PAGE + 7  # reads without a case this module adds: more than a page


@pytest.fixture(scope="module")
def seeded(resolved: tuple[Settings, Database]) -> tuple[Settings, Database]:
    """The shared world with more reads without a case than a page shows (the trail only:
    the tables the other tests read are left as they were)."""
    _, database = resolved
    with database.transaction() as session:
        person = session.scalars(select(Person).order_by(Person.person_id)).first()
        assert person is not None
        for number in range(SEEDED):
            record_event(
                session,
                AuditEntry(
                    actor="paula", role="analyst", action="read_person", object_type="person",
                    object_id=person.person_id, purpose=f"paging check {number} for review",
                    details={"as_of": "2026-01-01"},
                ),
            )  # fmt: skip
    return resolved


def _whole(settings: Settings, database: Database, name: str, period: Period) -> Report:
    with database.transaction() as session:
        return read_report(
            session, name, actor=AUD, period=period, thresholds=Thresholds.of(settings)
        )


def _page(
    settings: Settings, database: Database, name: str, period: Period, offset: int, limit: int
) -> ReportPage:
    with database.transaction() as session:
        return read_report_page(
            session, name, actor=AUD, period=period, thresholds=Thresholds.of(settings),
            offset=offset, limit=limit,
        )  # fmt: skip


def _all_pages(
    settings: Settings, database: Database, name: str, period: Period, limit: int
) -> list[ReportPage]:
    pages = [_page(settings, database, name, period, 0, limit)]
    while (after := pages[-1].next_offset) is not None:
        pages.append(_page(settings, database, name, period, after, limit))
    return pages


@pytest.mark.parametrize(
    ("name", "period"),
    [("reads-without-case", Period.of()), ("overdue-departures", Period.of(end=AS_OF))],
)
def test_the_pages_of_a_long_report_hold_the_whole_report_in_order(
    seeded: tuple[Settings, Database], name: str, period: Period
) -> None:
    settings, database = seeded
    whole = _whole(settings, database, name, period)
    assert whole.rows, "the world should hold some rows of the report"
    limit = max(1, len(whole.rows) // 3)  # a page or three or four, as the world holds
    pages = _all_pages(settings, database, name, period, limit)
    assert [row for page in pages for row in page.report.rows] == list(whole.rows)
    assert {page.total for page in pages} == {len(whole.rows)}
    assert all(len(page.report.rows) == limit for page in pages[:-1])
    assert len(pages) == -(-len(whole.rows) // limit)
    assert pages[0].previous_offset is None and pages[-1].next_offset is None
    assert [page.previous_offset for page in pages[1:]] == [page.offset for page in pages[:-1]]


def test_each_page_read_is_audited_with_the_rows_it_showed(
    seeded: tuple[Settings, Database],
) -> None:
    settings, database = seeded
    since = last_audit_seq(database)
    page = _page(settings, database, "reads-without-case", Period.of(), 5, 10)
    assert len(page.report.rows) == 10 and page.total >= SEEDED
    with database.transaction() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > since, AuditEvent.action == "read_report")
        ).all()
    assert [(e.object_id, e.details["rows"]) for e in events] == [("reads-without-case", 10)]


def test_a_report_that_does_not_grow_is_one_page_of_every_row(
    seeded: tuple[Settings, Database],
) -> None:
    settings, database = seeded
    whole = _whole(settings, database, "reads-by-user", Period.of())
    page = _page(settings, database, "reads-by-user", Period.of(), 0, 2)
    assert page.report.rows == whole.rows and page.total == len(whole.rows)
    assert page.next_offset is None and page.previous_offset is None


@pytest.mark.parametrize(
    ("offset", "limit", "where"), [(-1, 10, "offset"), (0, 0, "limit"), (0, 501, "limit")]
)
def test_a_page_out_of_range_is_refused_naming_what(
    seeded: tuple[Settings, Database], offset: int, limit: int, where: str
) -> None:
    settings, database = seeded
    with pytest.raises(InputError) as refused:
        _page(settings, database, "reads-without-case", Period.of(), offset, limit)
    assert refused.value.where == where


@pytest.fixture(scope="module")
def web(seeded: tuple[Settings, Database]) -> Iterator[TestClient]:
    settings, database = seeded
    with TestClient(create_app(settings, database)) as client:
        client.cookies.clear()
        web_sign_in(client, "aud", PASSWORD)
        yield client


def _rows_shown(html: str) -> int:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.count("<tr>")


def test_the_page_shows_the_total_and_moves_to_the_next_and_back(
    web: TestClient, seeded: tuple[Settings, Database]
) -> None:
    settings, database = seeded
    total = len(_whole(settings, database, "reads-without-case", Period.of()).rows)
    first = web.get("/reports/reads-without-case")
    assert first.status_code == 200
    assert f"{total} rows: 1 to {REPORT_PAGE}</h2>" in first.text
    assert _rows_shown(first.text) == REPORT_PAGE
    assert f'href="/reports/reads-without-case?offset={REPORT_PAGE}" rel="next"' in first.text
    assert 'rel="prev"' not in first.text
    second = web.get("/reports/reads-without-case", params={"offset": REPORT_PAGE})
    shown = min(REPORT_PAGE, total - REPORT_PAGE)
    assert f"{total} rows: {REPORT_PAGE + 1} to {REPORT_PAGE + shown}</h2>" in second.text
    assert _rows_shown(second.text) == shown
    assert 'href="/reports/reads-without-case" rel="prev"' in second.text
    past = web.get("/reports/reads-without-case", params={"offset": total + 10})
    assert past.status_code == 200 and f"the report holds {total}" in past.text
    assert web.get("/reports/reads-without-case", params={"offset": -1}).status_code == 422


def test_the_csv_and_the_api_still_give_every_row(
    web: TestClient, seeded: tuple[Settings, Database]
) -> None:
    settings, database = seeded
    whole = _whole(settings, database, "reads-without-case", Period.of())
    got = web.get("/reports/reads-without-case/csv")
    lines = list(csv.reader(io.StringIO(got.text)))
    assert len(lines) == len(whole.rows) + 1 > REPORT_PAGE + 1
    token = web.post("/api/sessions", json={"username": "aud", "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {token.json()['token']}"}
    body = web.get("/api/reports/reads-without-case", headers=bearer).json()
    assert len(body["rows"]) == len(whole.rows)


@pytest.mark.browser
@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_an_auditor_pages_through_the_reads_without_a_case_in_a_browser(
    seeded: tuple[Settings, Database], browser: Browser
) -> None:
    settings, database = seeded
    total = len(_whole(settings, database, "reads-without-case", Period.of()).rows)
    with serve(settings, database) as base:
        page = signed_in_page(browser, base, "aud")
        try:
            page.goto(base + "/reports/reads-without-case")
            heading = page.get_by_role("heading", level=2)
            expect(heading).to_have_text(f"{total} rows: 1 to {REPORT_PAGE}")
            expect(page.locator("table.report tbody tr")).to_have_count(REPORT_PAGE)
            for width in (1280, 390):
                page.set_viewport_size({"width": width, "height": 900})
                assert_accessible(page)
                assert horizontal_overflow(page) is None, f"{page.url} at {width} px"
            pages = page.get_by_role("navigation", name="Report pages")
            pages.get_by_role("link", name=f"Next {min(REPORT_PAGE, total - REPORT_PAGE)}").click()
            expect(heading).to_contain_text(f"{total} rows: {REPORT_PAGE + 1} to ")
            pages.get_by_role("link", name=f"Previous {REPORT_PAGE}").click()
            expect(heading).to_have_text(f"{total} rows: 1 to {REPORT_PAGE}")
        finally:
            page.context.close()
