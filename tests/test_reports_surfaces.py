"""The reports from the command line and on the web pages (and in a real Chromium): the
same tables, each read audited, only for auditors and admins."""

import csv
import io
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import select
from typer.testing import CliRunner

from caseline.cli import app as cli
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent
from caseline.oversight.audit import AuditEntry, record_event
from caseline.server import create_app
from tests.browser_support import serve
from tests.cli_support import add_cli_users, cli_login
from tests.conftest import PASSWORD, last_audit_seq
from tests.web_support import web_sign_in

runner = CliRunner()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SQLite workspace with an admin, an auditor, an analyst and an engineer."""
    monkeypatch.setenv("CASELINE_HOME", str(tmp_path))
    monkeypatch.setenv("CASELINE_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CASELINE_TOKEN", raising=False)
    add_cli_users(runner)
    return tmp_path


def test_the_command_line_lists_and_reads_reports(workspace: Path) -> None:
    auditor = cli_login(runner, "auditor")
    listed = runner.invoke(cli, ["reports"], env=auditor)
    assert listed.exit_code == 0, listed.output
    assert "reads-by-user\t" in listed.stdout and "accuracy-by-group\t" in listed.stdout
    refused = runner.invoke(cli, ["reports", "refused-attempts"], env=cli_login(runner, "analyst"))
    assert refused.exit_code == 2 and "may not read reports" in refused.output
    read = runner.invoke(cli, ["reports", "refused-attempts", "--json"], env=auditor)
    assert read.exit_code == 0, read.output
    assert '"report": "refused-attempts"' in read.stdout


def test_the_command_line_writes_csv_for_the_period_asked(workspace: Path) -> None:
    admin = cli_login(runner, "admin")
    out = workspace / "reads.csv"
    args = ["reports", "reads-by-user", "--from", "2020-01-01", "--to", "2030-12-31"]
    written = runner.invoke(cli, [*args, "--csv", str(out)], env=admin)
    assert written.exit_code == 0, written.output
    assert next(csv.reader(io.StringIO(out.read_text())))[0] == "user"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    printed = runner.invoke(cli, [*args, "--csv", "-"], env=admin)
    assert printed.stdout.startswith("user,role,reads,")
    backwards = runner.invoke(
        cli, ["reports", "reads-by-user", "--from", "2026-02-01", "--to", "2026-01-01"], env=admin
    )
    assert backwards.exit_code == 2 and "after it ends" in backwards.output
    unknown = runner.invoke(cli, ["reports", "everything"], env=admin)
    assert unknown.exit_code == 2 and "no report 'everything'" in unknown.output


@pytest.fixture(scope="module")
def web(resolved: tuple[Settings, Database]) -> Iterator[TestClient]:
    settings, database = resolved
    with TestClient(create_app(settings, database)) as client:
        yield client


def test_the_reports_page_links_every_report_and_its_csv(
    web: TestClient, resolved: tuple[Settings, Database]
) -> None:
    _, database = resolved
    web.cookies.clear()
    web_sign_in(web, "aud", PASSWORD)
    home = web.get("/")
    assert 'href="/reports"' in home.text
    listing = web.get("/reports", params={"from": "2020-01-01"})
    assert listing.status_code == 200
    assert 'href="/reports/reads-by-user?from=2020-01-01"' in listing.text
    assert "/reports/guard-stops/csv?from=2020-01-01" in listing.text
    since = last_audit_seq(database)
    page = web.get("/reports/guard-stops")
    assert page.status_code == 200 and "<svg" in page.text and 'role="img"' in page.text
    got = web.get("/reports/cases-by-state/csv")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    with database.transaction() as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > since, AuditEvent.action == "read_report")
            .order_by(AuditEvent.seq)
        ).all()
    assert [e.object_id for e in events] == ["guard-stops", "cases-by-state"]
    assert web.get("/reports/nope").status_code == 404
    assert web.get("/reports", params={"from": "yesterday"}).status_code == 422


def test_what_users_typed_is_shown_escaped(
    web: TestClient, resolved: tuple[Settings, Database]
) -> None:
    _, database = resolved
    typed = "<script>alert(1)</script> read for the review"
    with database.transaction() as session:
        record_event(
            session,
            AuditEntry(
                actor="rita", role="analyst", action="read_person", object_type="person",
                object_id="P1", purpose=typed, details={},
            ),
        )  # fmt: skip
    web.cookies.clear()
    web_sign_in(web, "aud", PASSWORD)
    page = web.get("/reports/reads-by-purpose")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt; read for the review" in page.text
    assert "<script>" not in page.text


def test_an_analyst_is_refused_the_reports_page(web: TestClient) -> None:
    web.cookies.clear()
    web_sign_in(web, "ann", PASSWORD)
    assert web.get("/reports").status_code == 403
    assert web.get("/reports/reads-by-user/csv").status_code == 403


@pytest.fixture(scope="module")
def live_server(resolved: tuple[Settings, Database]) -> Iterator[str]:
    with serve(*resolved) as base:
        yield base


@pytest.mark.browser
@pytest.mark.parametrize("resolved", ["sqlite"], indirect=True)
def test_an_auditor_reads_a_report_with_its_chart_in_a_browser(
    page: Page, live_server: str
) -> None:
    page.goto(live_server + "/login")
    page.get_by_label("User name").fill("aud")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="/reports").click()
    expect(page).to_have_url(live_server + "/reports")
    page.get_by_role("link", name="Cases by state and age").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cases by state and age")
    page.get_by_role("link", name="All reports").click()
    page.get_by_role("link", name="Guard stops by guard").click()
    expect(page.get_by_role("img", name="open cases held by guard")).to_be_visible()
    expect(page.locator("table.report tbody tr")).to_have_count(5)  # the case-fact guards
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("guard-stops_start_")
