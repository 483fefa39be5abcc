"""Typed audit events and the one guarded way to record them: roles and purposes are checked
before the work, on every entry point, from the API and the command line alike."""

from dataclasses import fields
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from caseline.cli import app
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, IngestRun, SourceRecord
from caseline.errors import AccessDenied
from caseline.ingest import ingest_file, list_problems
from caseline.oversight import (
    Actor,
    FileIngested,
    PersonRead,
    PersonsSearched,
    Role,
    UserAdded,
    add_first_admin,
    create_user,
    event_types,
    permit,
)
from caseline.resolve import resolve_persons
from tests.cli_support import CLI_PASSWORD, add_cli_users, cli_login

ANALYST = Actor("ann", Role.ANALYST)
ENGINEER = Actor("eng", Role.DATA_ENGINEER)
ADMIN = Actor("root", Role.ADMIN)
UTILITY_CSV = (
    "account_number,customer_name,service_address,service_city,service_state,service_zip,"
    "service_start,service_end\nU1,Ann Lee,1 Main St,Springfield,IL,62704,2020-01-01,\n"
)


def _count(database: Database, model: type) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_every_event_type_names_its_action_object_and_fields() -> None:
    kinds = event_types()
    assert len(kinds) >= 14
    actions = [kind.action for kind in kinds]
    assert len(actions) == len(set(actions)), "two event types share an action"
    for kind in kinds:
        assert kind.object_type and kind.summary
        names = {f.name for f in fields(kind)}
        assert kind.object_field is None or kind.object_field in names, kind.__name__


def test_an_event_keeps_its_object_apart_from_its_details() -> None:
    event = PersonRead(person_id="p1", as_of="2026-01-01", lead_records=("r1", "r2"))
    assert event.object_id == "p1"
    assert event.details == {"as_of": "2026-01-01", "lead_records": ["r1", "r2"]}


@pytest.mark.parametrize(
    ("actor", "event_type"),
    [
        (ANALYST, FileIngested),  # analysts read persons, they do not load records
        (ENGINEER, PersonRead),  # data engineers load records, they do not read persons
        (ENGINEER, UserAdded),
        (ADMIN, PersonsSearched),  # admins run the system, not investigations
    ],
)
def test_a_permit_is_refused_to_a_role_without_the_permission(
    actor: Actor, event_type: type
) -> None:
    with pytest.raises(AccessDenied, match=f"role '{actor.role}' may not"):
        permit(actor, event_type, purpose="a purpose long enough")


@pytest.mark.parametrize("purpose", [None, "", "  x  "])
def test_reading_a_person_needs_a_purpose(purpose: str | None) -> None:
    with pytest.raises(AccessDenied, match="purpose"):
        permit(ANALYST, PersonRead, purpose)


def test_a_permit_records_only_the_event_it_was_given_for(database: Database) -> None:
    allowed = permit(ANALYST, PersonsSearched, "find the subject of case 12")
    with database.transaction() as session, pytest.raises(TypeError, match="PersonsSearched"):
        allowed.record(session, PersonRead(person_id="p1", as_of="2026-01-01", lead_records=()))
    with database.transaction() as session:
        allowed.record(session, PersonsSearched(query="ANN LEE", results=("p1",)))
    with database.transaction() as session:
        event = session.scalars(select(AuditEvent)).one()
    assert (event.actor, event.role, event.action) == ("ann", "analyst", "search_persons")
    assert event.purpose == "find the subject of case 12"
    assert event.details == {"query": "ANN LEE", "results": ["p1"]}


def test_an_analyst_cannot_ingest_and_nothing_is_written(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "utility.csv"
    path.write_text(UTILITY_CSV)
    with pytest.raises(AccessDenied), database.transaction() as session:
        ingest_file(session, path, "utility", identifier_key=settings.identifier_key, actor=ANALYST)
    assert _count(database, IngestRun) == _count(database, SourceRecord) == 0
    assert _count(database, AuditEvent) == 0


def test_an_analyst_can_neither_resolve_nor_list_problems(
    database: Database, settings: Settings
) -> None:
    with pytest.raises(AccessDenied, match="resolve persons"):
        resolve_persons(database, models_dir=settings.models_dir, threshold=0.8, actor=ANALYST)
    with pytest.raises(AccessDenied, match="read ingest problems"), database.transaction() as s:
        list_problems(s, actor=ANALYST)


def test_the_first_user_is_an_admin_who_adds_the_rest(database: Database) -> None:
    with database.transaction() as session:
        add_first_admin(session, "root", "a long password")
    with database.transaction() as session, pytest.raises(AccessDenied, match="has users"):
        add_first_admin(session, "mallory", "a long password")
    with database.transaction() as session, pytest.raises(AccessDenied, match="manage users"):
        create_user(session, "eve", Role.ADMIN, "a long password", actor=ENGINEER)
    with database.transaction() as session:
        create_user(session, "eng", Role.DATA_ENGINEER, "a long password", actor=ADMIN)
        added = [
            (e.actor, e.object_id)
            for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        ]
    assert added == [("root", "root"), ("root", "eng")]


@pytest.fixture
def cli_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CASELINE_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CASELINE_TOKEN", raising=False)
    (tmp_path / "utility.csv").write_text(UTILITY_CSV)
    return CliRunner()


def test_the_command_line_needs_a_signed_in_user(cli_workspace: CliRunner, tmp_path: Path) -> None:
    result = cli_workspace.invoke(app, ["ingest", str(tmp_path / "utility.csv")])
    assert result.exit_code == 2 and "caseline login" in result.output
    result = cli_workspace.invoke(
        app, ["ingest", str(tmp_path / "utility.csv")], env={"CASELINE_TOKEN": "forged"}
    )
    assert result.exit_code == 2 and "no valid session" in result.output


def test_role_rules_hold_on_the_command_line(cli_workspace: CliRunner, tmp_path: Path) -> None:
    refused = cli_workspace.invoke(
        app, ["users", "add", "ann", "--role", "analyst", "--password-stdin"], input=CLI_PASSWORD
    )
    assert refused.exit_code == 2 and "first user must be an admin" in refused.output
    add_cli_users(cli_workspace)
    as_analyst = cli_workspace.invoke(
        app, ["ingest", str(tmp_path / "utility.csv")], env=cli_login(cli_workspace, "analyst")
    )
    assert as_analyst.exit_code == 2 and "may not ingest files" in as_analyst.output
    engineer = cli_login(cli_workspace, "engineer")
    as_engineer = cli_workspace.invoke(app, ["ingest", str(tmp_path / "utility.csv")], env=engineer)
    assert as_engineer.exit_code == 0, as_engineer.output
    verify = cli_workspace.invoke(app, ["audit", "verify"], env=engineer)
    assert verify.exit_code == 2 and "may not verify audit" in verify.output
    verify = cli_workspace.invoke(app, ["audit", "verify"], env=cli_login(cli_workspace, "auditor"))
    assert verify.exit_code == 0 and "intact" in verify.output
    second_admin = cli_workspace.invoke(
        app,
        ["users", "add", "boss", "--role", "admin", "--password-stdin"],
        input=CLI_PASSWORD,
        env=engineer,
    )
    assert second_admin.exit_code == 2 and "may not manage users" in second_admin.output
