"""The data engineer's view of the runs, through the packages, the API, the pages and the
command line: every ingest run with its counts, pace and values left out by reason; one
file's problems a page at a time (raw rows: audited, escaped on the page); every resolution
run with the figures evaluated after it and before the next run."""

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from caseline.cli import app
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, IngestRun, ResolutionRun
from caseline.errors import AccessDenied, InputError, NotFoundError
from caseline.ingest import (
    ingest_file,
    list_ingest_runs,
    list_problems,
    masked_reason,
    run_problems,
)
from caseline.oversight import Actor, Role, create_user
from caseline.profiles import evaluate_addresses, load_address_model
from caseline.resolve import (
    evaluate_resolution,
    list_resolution_runs,
    resolve_incrementally,
    resolve_persons,
)
from caseline.server import create_app
from caseline.synth import WorldSummary
from tests.cli_support import add_cli_users, cli_login
from tests.conftest import ADMIN, OPERATOR, PASSWORD, last_audit_seq
from tests.web_support import web_sign_in

HEADER = (
    "account_number,customer_name,service_address,service_city,service_state,service_zip,"
    "service_start,service_end\n"
)
BAD_FILE = (
    HEADER
    + "U1,Ann Lee,1 Main St,Springfield,IL,62704,2020-01-01,\n"  # line 2: loads
    + "U2,Bob Ray,2 Main St,Springfield,IL,62704,2020-13-01,\n"  # line 3: a value left out
    + "U3,Cy Day,3 Main St,Springfield,IL,62704,2019-14-05,\n"  # line 4: alike, another value
    + "U4,<script>alert(1)</script>,4 Main St\n"  # line 5: quarantined, HTML in the row
)
GOOD_FILE = HEADER + "U9,Di Fox,9 Elm St,Springfield,IL,62704,2021-01-01,\n"
AUDITOR, ANALYST = Actor("aud", Role.AUDITOR), Actor("ann", Role.ANALYST)
HELD_BACK = ("court", "immigration_status")  # ingested after the first full run
runner = CliRunner()


def _ingest(database: Database, settings: Settings, path: Path, source: str) -> None:
    with database.transaction() as session:
        ingest_file(session, path, source, identifier_key=settings.identifier_key, actor=OPERATOR)


@pytest.fixture
def bad_files(settings: Settings, database: Database, tmp_path: Path) -> tuple[int, int]:
    """A utility file with two bad values and a bad row, then a clean one: their run ids."""
    bad, good = tmp_path / "utility-bad.csv", tmp_path / "utility-good.csv"
    bad.write_text(BAD_FILE, encoding="utf-8")
    good.write_text(GOOD_FILE, encoding="utf-8")
    _ingest(database, settings, bad, "utility")
    _ingest(database, settings, good, "utility")
    with database.transaction() as session:
        first, second = session.scalars(select(IngestRun.id).order_by(IngestRun.id))
    return first, second


def _events(database: Database, after: int, action: str) -> list[AuditEvent]:
    with database.transaction() as session:
        found = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > after, AuditEvent.action == action)
            .order_by(AuditEvent.seq)
        ).all()
        session.expunge_all()
    return list(found)


# The ingest runs


def test_masking_a_reason_hides_the_values_it_quotes_and_keeps_its_kind() -> None:
    reason = "'1980-13-01' is not a valid date in format %Y-%m-%d: month must be in 1..12"
    assert masked_reason(reason) == (
        "'…' is not a valid date in format %Y-%m-%d: month must be in 1..12"
    )
    assert masked_reason("date of birth 2031-05-06 is in the future") == (
        "date of birth … is in the future"
    )
    assert masked_reason("A-number must be 'A' and 7 to 9 digits") == (
        "A-number must be '…' and 7 to 9 digits"
    )


def test_every_ingest_run_is_listed_newest_first_with_counts_pace_and_reasons(
    database: Database, bad_files: tuple[int, int]
) -> None:
    bad, good = bad_files
    with database.transaction() as session:
        runs = list_ingest_runs(session, actor=OPERATOR)
        stored = {r.id: r for r in session.scalars(select(IngestRun))}
    assert [r.run_id for r in runs] == [good, bad]
    latest, first = runs
    assert (first.file_name, first.source) == ("utility-bad.csv", "utility")
    assert first.path == stored[bad].file_name and first.sha256 == stored[bad].file_sha256
    assert (first.loaded, first.quarantined, first.value_issues) == (3, 1, 2)
    assert (latest.loaded, latest.quarantined, latest.value_issues) == (1, 0, 0)
    assert first.seconds is not None and first.seconds > 0  # microseconds at least
    assert first.rows_per_second == pytest.approx(4 / first.seconds)  # 3 loaded, 1 not
    # The two dates fail for one reason: counted together, their values masked.
    (issue,) = first.issues_by_reason
    assert (issue.field, issue.count) == ("service_start", 2)
    assert "2020-13-01" not in issue.reason and "2019-14-05" not in issue.reason
    assert issue.reason.startswith("'…' is not a valid date")
    assert latest.issues_by_reason == ()
    assert first.as_dict()["issues_by_reason"] == [
        {"field": "service_start", "reason": issue.reason, "count": 2}
    ]


def test_the_runs_are_for_data_engineers_admins_and_auditors_and_read_unaudited(
    database: Database, bad_files: tuple[int, int]
) -> None:
    before = last_audit_seq(database)
    with database.transaction() as session:
        for reader in (AUDITOR, Actor("ada", Role.ADMIN), OPERATOR):
            assert len(list_ingest_runs(session, actor=reader)) == 2
            assert list_resolution_runs(session, actor=reader) == []
        for refused in (ANALYST, Actor("lee", Role.LEGAL), Actor("sam", Role.SUPERVISOR)):
            with pytest.raises(AccessDenied, match="may not read runs"):
                list_ingest_runs(session, actor=refused)
            with pytest.raises(AccessDenied, match="may not read runs"):
                list_resolution_runs(session, actor=refused)
    assert last_audit_seq(database) == before


def test_a_files_problems_come_by_line_a_page_at_a_time_and_each_page_is_audited(
    database: Database, bad_files: tuple[int, int]
) -> None:
    bad, good = bad_files
    before = last_audit_seq(database)
    with database.transaction() as session:
        first = run_problems(session, bad, actor=OPERATOR, limit=2)
        second = run_problems(session, bad, actor=OPERATOR, offset=first.next_offset or 0)
        clean = run_problems(session, good, actor=OPERATOR)
    assert first.total == second.total == 3
    assert [(p.line, p.field, p.quarantined, p.text) for p in first.problems] == [
        (3, "service_start", False, "2020-13-01"),
        (4, "service_start", False, "2019-14-05"),
    ]
    assert (first.next_offset, second.next_offset, second.previous_offset) == (2, None, 0)
    (row,) = second.problems
    assert (row.line, row.field, row.quarantined) == (5, "*", True)
    assert row.text == "U4,<script>alert(1)</script>,4 Main St"  # as written
    assert "3 fields" in row.reason
    assert (clean.total, clean.problems) == (0, ())
    events = _events(database, before, "read_ingest_run_problems")
    assert [(e.object_id, e.actor, e.details) for e in events] == [
        (str(bad), OPERATOR.username, {"file": "utility-bad.csv", "offset": 0, "shown": 2}),
        (str(bad), OPERATOR.username, {"file": "utility-bad.csv", "offset": 2, "shown": 1}),
        (str(good), OPERATOR.username, {"file": "utility-good.csv", "offset": 0, "shown": 0}),
    ]
    # `caseline problems` lists the same rows, as before.
    with database.transaction() as session:
        listed = list_problems(session, actor=OPERATOR, file_contains="utility-bad")
    assert sorted((p.line, p.text) for p in listed) == sorted(
        (p.line, p.text) for p in (*first.problems, *second.problems)
    )


def test_a_files_problems_are_refused_to_other_roles_and_bad_paging_says_why(
    database: Database, bad_files: tuple[int, int]
) -> None:
    bad, _ = bad_files
    before = last_audit_seq(database)
    with database.transaction() as session:
        for refused in (AUDITOR, Actor("ada", Role.ADMIN), ANALYST):
            with pytest.raises(AccessDenied, match="may not read ingest problems"):
                run_problems(session, bad, actor=refused)
        with pytest.raises(NotFoundError, match="no ingest run 999"):
            run_problems(session, 999, actor=OPERATOR)
        with pytest.raises(InputError, match="offset: -1 is below 0"):
            run_problems(session, bad, actor=OPERATOR, offset=-1)
        with pytest.raises(InputError, match="limit: 0 is not between 1 and 500"):
            run_problems(session, bad, actor=OPERATOR, limit=0)
    assert _events(database, before, "read_ingest_run_problems") == []


# Through the API and the pages


@pytest.fixture
def client(
    settings: Settings, database: Database, bad_files: tuple[int, int]
) -> Iterator[TestClient]:
    with database.transaction() as session:
        for name, role in (("dan", Role.DATA_ENGINEER), ("aud", Role.AUDITOR),
                           ("ann", Role.ANALYST), ("ada", Role.ADMIN)):  # fmt: skip
            create_user(session, name, role, PASSWORD, actor=ADMIN)
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def _bearer(client: TestClient, username: str) -> dict[str, str]:
    signed_in = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    return {"Authorization": f"Bearer {signed_in.json()['token']}"}


def test_the_api_lists_the_runs_as_the_package_does(
    client: TestClient, database: Database, bad_files: tuple[int, int]
) -> None:
    bad, good = bad_files
    with database.transaction() as session:
        expected = [r.as_dict() for r in list_ingest_runs(session, actor=OPERATOR)]
    for reader in ("dan", "aud", "ada"):
        answer = client.get("/api/ingest-runs", headers=_bearer(client, reader))
        assert answer.status_code == 200, answer.text
        runs = answer.json()
        assert [r["run_id"] for r in runs] == [good, bad]
        for field in ("file_name", "loaded", "quarantined", "value_issues", "issues_by_reason"):
            assert [r[field] for r in runs] == [e[field] for e in expected]
        resolution = client.get("/api/resolution-runs", headers=_bearer(client, reader))
        assert (resolution.status_code, resolution.json()) == (200, [])
    ann = _bearer(client, "ann")
    assert client.get("/api/ingest-runs", headers=ann).status_code == 403
    assert client.get("/api/resolution-runs", headers=ann).status_code == 403
    assert client.get("/api/ingest-runs").status_code == 401


def test_the_api_pages_a_files_problems_for_data_engineers_only_audited(
    client: TestClient, database: Database, bad_files: tuple[int, int]
) -> None:
    bad, _ = bad_files
    dan = _bearer(client, "dan")
    before = last_audit_seq(database)
    page = client.get(f"/api/ingest-runs/{bad}/problems", params={"limit": 2}, headers=dan)
    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["total"], body["next_offset"], len(body["problems"])) == (3, 2, 2)
    assert body["run"]["file_name"] == "utility-bad.csv"
    rest = client.get(f"/api/ingest-runs/{bad}/problems", params={"offset": 2}, headers=dan).json()
    assert rest["problems"][0]["text"] == "U4,<script>alert(1)</script>,4 Main St"
    assert rest["next_offset"] is None
    events = _events(database, before, "read_ingest_run_problems")
    assert [(e.actor, e.object_id, e.details["shown"]) for e in events] == [
        ("dan", str(bad), 2),
        ("dan", str(bad), 1),
    ]
    for role_user in ("aud", "ada", "ann"):
        refused = client.get(f"/api/ingest-runs/{bad}/problems", headers=_bearer(client, role_user))
        assert refused.status_code == 403 and "may not read ingest problems" in refused.text
    assert client.get("/api/ingest-runs/999/problems", headers=dan).status_code == 404
    assert (
        client.get(f"/api/ingest-runs/{bad}/problems", params={"limit": 0}, headers=dan).status_code
        == 422
    )
    assert len(_events(database, before, "read_ingest_run_problems")) == 2


def test_the_pages_show_the_runs_and_a_files_rows_escaped(
    client: TestClient, bad_files: tuple[int, int]
) -> None:
    bad, good = bad_files
    web_sign_in(client, "dan", PASSWORD)
    home = client.get("/")
    assert 'href="/data"' in home.text
    data = client.get("/data")
    assert data.status_code == 200, data.text
    assert f'<a href="/data/ingest/{bad}">utility-bad.csv</a>' in data.text
    assert f'href="/data/ingest/{good}"' not in data.text  # a clean file has no problems
    assert data.text.count('class="data-chart"') == 1  # no evaluated run: no F1 chart
    assert "Rows quarantined" in data.text and "No run has been evaluated yet" not in data.text
    problems = client.get(f"/data/ingest/{bad}")
    assert problems.status_code == 200, problems.text
    assert "U4,&lt;script&gt;alert(1)&lt;/script&gt;,4 Main St" in problems.text
    assert "<script>alert(1)" not in problems.text
    assert "1\u20133 of 3 problems" in problems.text
    missing = client.get("/data/ingest/999")
    assert missing.status_code == 404 and "no ingest run 999" in missing.text
    assert "Sign out" in missing.text  # the friendly page keeps the header


def test_a_files_problems_page_goes_on_fifty_at_a_time(
    client: TestClient, settings: Settings, database: Database, tmp_path: Path
) -> None:
    many = tmp_path / "utility-many.csv"
    many.write_text(HEADER + "".join(f"U{n},Row {n},{n} Main St\n" for n in range(60)))
    _ingest(database, settings, many, "utility")
    with database.transaction() as session:
        run_id = max(r.run_id for r in list_ingest_runs(session, actor=OPERATOR))
    web_sign_in(client, "dan", PASSWORD)
    first = client.get(f"/data/ingest/{run_id}")
    assert "1\u201350 of 60 problems" in first.text and first.text.count('class="raw"') == 50
    assert f'href="/data/ingest/{run_id}?offset=50" rel="next"' in first.text
    assert 'rel="prev"' not in first.text
    second = client.get(f"/data/ingest/{run_id}", params={"offset": 50})
    assert "51\u201360 of 60 problems" in second.text and 'rel="next"' not in second.text
    assert f'href="/data/ingest/{run_id}" rel="prev"' in second.text
    assert "Row 59" in second.text and "Row 59" not in first.text
    past = client.get(f"/data/ingest/{run_id}", params={"offset": 70})
    assert past.status_code == 200 and "No problems past the first 60" in past.text
    bad = client.get(f"/data/ingest/{run_id}", params={"offset": "x"})
    assert bad.status_code == 422 and "is not a whole number" in bad.text


def test_auditors_see_the_runs_page_but_not_a_files_rows(
    client: TestClient, bad_files: tuple[int, int]
) -> None:
    bad, _ = bad_files
    web_sign_in(client, "aud", PASSWORD)
    data = client.get("/data")
    assert data.status_code == 200, data.text
    assert "utility-bad.csv" in data.text and "/data/ingest/" not in data.text
    refused = client.get(f"/data/ingest/{bad}")
    assert refused.status_code == 403
    assert "may not read ingest problems" in refused.text and "Sign out" in refused.text


# The resolution runs


@pytest.fixture
def two_runs(
    settings: Settings,
    database: Database,
    small_world: WorldSummary,
    small_world_model: Path,
) -> tuple[int, int, dt.datetime]:
    """A full run with the session's model, then an incremental one: their ids, and when the
    full run began storing its persons."""
    for source, path in small_world.source_files.items():
        if source not in HELD_BACK:
            _ingest(database, settings, path, source)
    steps: dict[str, dt.datetime] = {}
    full = resolve_persons(
        database,
        models_dir=settings.models_dir,
        threshold=settings.match_threshold,
        model_path=small_world_model,
        actor=OPERATOR,
        on_step=lambda name: steps.setdefault(name, dt.datetime.now(dt.UTC)),
    )
    with database.transaction() as session:
        evaluate_resolution(session, small_world.truth_file, actor=OPERATOR)
        evaluate_resolution(session, small_world.truth_file, actor=OPERATOR)
    for source in HELD_BACK:
        _ingest(database, settings, small_world.source_files[source], source)
    placed = resolve_incrementally(
        database, models_dir=settings.models_dir, threshold=settings.match_threshold,
        actor=OPERATOR,
    )  # fmt: skip
    return full.run_id, placed.run_id, steps["storing persons"]


def test_each_resolution_run_carries_the_figures_evaluated_after_it_and_before_the_next(
    database: Database, small_world: WorldSummary, two_runs: tuple[int, int, dt.datetime]
) -> None:
    full, placed, storing = two_runs
    with database.transaction() as session:
        later, earlier = list_resolution_runs(session, actor=OPERATOR)
        stored = {r.id: r for r in session.scalars(select(ResolutionRun))}
    assert (later.run_id, earlier.run_id) == (placed, full)
    assert (earlier.incremental, later.incremental) == (False, True)
    assert earlier.records == stored[full].record_count and earlier.persons > 0
    assert later.records == stored[placed].record_count > 0
    assert later.model_file == earlier.model_file == Path(stored[full].model_path).name
    assert earlier.threshold == stored[full].threshold
    # The run began with loading the records, before it stored the persons (UTC, naive).
    assert stored[full].started_at.replace(tzinfo=None) < storing.replace(tzinfo=None)
    assert earlier.accuracy is not None and later.accuracy is None  # not evaluated since
    assert earlier.addresses is None and later.addresses is None

    # Evaluated now: the figures go with the incremental run, the newest before them.
    with database.transaction() as session:
        scores = evaluate_resolution(session, small_world.truth_file, actor=OPERATOR)
        places = evaluate_addresses(
            session,
            truth_path=small_world.truth_file,
            current_path=small_world.out_dir / "persons.csv",
            as_of=small_world.reference_date,
            model=load_address_model(),
            actor=OPERATOR,
        )
        later, earlier = list_resolution_runs(session, actor=OPERATOR)
    assert later.accuracy is not None and later.accuracy.f1 == round(scores.f1, 6)
    groups = {g.group: g for g in later.accuracy.groups}
    assert later.accuracy.groups[0].group == "all" and set(groups) == {"all", *scores.by_group}
    some = sorted(scores.by_group)[0]
    assert groups[some].f1 == round(scores.by_group[some].f1, 6)
    assert groups[some].records == scores.by_group[some].records
    assert later.accuracy.truth == small_world.truth_file.name
    assert later.addresses is not None
    caseline_top1 = places.overall.methods["caseline"].top1_accuracy
    assert later.addresses.top1_accuracy == round(caseline_top1, 6)
    assert earlier.accuracy is not None and earlier.accuracy.event < later.accuracy.event
    assert later.as_dict()["f1"] == later.accuracy.f1
    assert later.as_dict()["address_top1"] == later.addresses.top1_accuracy


def test_the_api_and_page_show_the_shared_worlds_run_and_its_last_figures(
    resolved: tuple[Settings, Database], small_world: WorldSummary
) -> None:
    settings, database = resolved
    with database.transaction() as session:
        scores = evaluate_resolution(session, small_world.truth_file, actor=OPERATOR)
        (run,) = list_resolution_runs(session, actor=OPERATOR)
        stored = session.scalars(select(ResolutionRun)).one()
    assert (run.run_id, run.incremental, run.persons) == (stored.id, False, stored.person_count)
    with TestClient(create_app(settings, database)) as client:
        answer = client.get("/api/resolution-runs", headers=_bearer(client, "aud"))
        assert answer.status_code == 200, answer.text
        (listed,) = answer.json()
        assert listed["f1"] == round(scores.f1, 6) and listed["incremental"] is False
        assert listed["accuracy"]["groups"][0]["group"] == "all"
        refused = client.get("/api/resolution-runs", headers=_bearer(client, "ann"))
        assert refused.status_code == 403
        web_sign_in(client, "aud", PASSWORD)
        page = client.get("/data")
    assert page.status_code == 200, page.text
    assert f'data-resolution-run="{run.run_id}"' in page.text
    assert f"{round(scores.f1, 6):.4f}" in page.text
    assert page.text.count('class="data-chart"') == 2  # files, and F1 per group


# The command line


@pytest.fixture
def cli_workspace(
    settings: Settings, bad_files: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The bad files' workspace, its commands acting as its data engineer."""
    monkeypatch.setenv("CASELINE_HOME", str(settings.home))
    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url)
    monkeypatch.delenv("CASELINE_TOKEN", raising=False)
    add_cli_users(runner)
    monkeypatch.setenv("CASELINE_TOKEN", cli_login(runner, "engineer")["CASELINE_TOKEN"])
    return settings


def test_caseline_runs_prints_two_tables_or_the_apis_json(
    cli_workspace: Settings, bad_files: tuple[int, int]
) -> None:
    bad, good = bad_files
    shown = runner.invoke(app, ["runs"])
    assert shown.exit_code == 0, shown.output
    assert "Ingest runs" in shown.output and "utility-bad.csv" in shown.output
    assert "no resolution run yet" in shown.output
    as_json = runner.invoke(app, ["runs", "--json"])
    assert as_json.exit_code == 0, as_json.output
    figures = json.loads(as_json.stdout)
    assert [r["run_id"] for r in figures["ingest_runs"]] == [good, bad]
    assert figures["ingest_runs"][1]["quarantined"] == 1
    assert figures["ingest_runs"][1]["issues_by_reason"][0]["count"] == 2
    assert figures["resolution_runs"] == []
    problems = runner.invoke(app, ["problems", "--file", "utility-bad"])
    assert problems.exit_code == 0 and "2020-13-01" in problems.output
    refused = runner.invoke(app, ["runs"], env=cli_login(runner, "analyst"))
    assert refused.exit_code == 2 and "may not read runs" in refused.output
