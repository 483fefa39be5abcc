"""Who works a case: claimed by an analyst or supervisor, assigned by a supervisor, audited,
refused for other roles and for a case in an outcome; reading for the case follows it."""

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from typer.testing import CliRunner

from caseline.cases import (
    LeadRule,
    assign_case,
    assignee_of,
    claim_case,
    list_board,
    state_purpose,
)
from caseline.cli import app as cli
from caseline.config import Settings
from caseline.db import Database
from caseline.db.migrate import alembic_config
from caseline.db.models import AuditEvent, Case
from caseline.errors import AccessDenied, ConflictError, InputError
from caseline.oversight import Actor, Role
from caseline.server import create_app
from tests.case_pages import AS_OF, lead_case
from tests.cli_support import cli_login
from tests.conftest import PASSWORD
from tests.web_support import web_sign_in

ANN = Actor("ann", Role.ANALYST)
SAM = Actor("sam", Role.SUPERVISOR)
LEE = Actor("lee", Role.LEGAL)


def _unassigned(database: Database, case_id: int) -> None:
    with database.transaction() as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.assigned_to = None


def _to_outcome(database: Database, case_id: int) -> None:
    with database.transaction() as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.state = "terminated"


def _audited(database: Database, action: str, case_id: int) -> list[AuditEvent]:
    with database.transaction() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.object_id == str(case_id))
                .order_by(AuditEvent.seq)
            )
        )


def test_a_case_is_its_openers_until_a_supervisor_gives_it_to_another(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    case_id = lead_case(database)
    with database.transaction() as session:
        assert assignee_of(session, case_id) == "ann"
        person_id = session.get(Case, case_id).person_id  # type: ignore[union-attr]
        again = claim_case(session, case_id, actor=ANN)  # one's own: taken, nothing changes
        assert (again.assigned_to, again.previous) == ("ann", "ann")
        with pytest.raises(ConflictError, match="assigned to ann"):
            claim_case(session, case_id, actor=SAM)
        given = assign_case(session, case_id, actor=SAM, to="SAM")  # names fold case
        assert (given.assigned_to, given.previous) == ("sam", "ann")
    assigned = _audited(database, "assign_case", case_id)
    assert [(e.actor, e.role, e.details) for e in assigned] == [
        ("sam", "supervisor", {"person_id": person_id, "assigned_to": "sam", "previous": "ann"})
    ]
    assert assigned[0].case_id == str(case_id)
    # Reading the person for the case follows the assignment: ann opened it, took no step.
    purpose = f"case:{case_id}"
    with database.transaction() as session:
        with pytest.raises(AccessDenied, match="not assigned to ann"):
            state_purpose(session, person_id, actor=ANN, purpose=purpose, as_of=AS_OF)
        state_purpose(session, person_id, actor=SAM, purpose=purpose, as_of=AS_OF)


def test_an_unassigned_case_is_claimed_and_moves_to_the_top_of_the_board(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    first = lead_case(database, LeadRule.REMOVAL_ORDER_NOT_DEPARTED)
    second = lead_case(database)  # newer: listed first until the other is claimed
    _unassigned(database, first)
    with database.transaction() as session:
        board = list_board(session, actor=SAM)
        row = next(r for r in board if r.case.id == first)
        assert row.claimable and not row.mine and row.assigned_to is None
        assert not next(r for r in board if r.case.id == second).claimable  # ann works it
        assert not next(r for r in list_board(session, actor=LEE) if r.case.id == first).claimable
        taken = claim_case(session, first, actor=SAM)
        assert (taken.assigned_to, taken.previous) == ("sam", None)
    with database.transaction() as session:
        board = list_board(session, actor=SAM)
    assert board[0].case.id == first and board[0].mine and not board[0].claimable
    assert [(e.actor, e.details["previous"]) for e in _audited(database, "claim_case", first)] == [
        ("sam", None)
    ]


def test_claims_and_assignments_are_refused_saying_why(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    case_id = lead_case(database)
    with database.transaction() as session:
        with pytest.raises(AccessDenied, match="may not open cases"):
            claim_case(session, case_id, actor=LEE)
        with pytest.raises(AccessDenied, match="only a supervisor assigns"):
            assign_case(session, case_id, actor=ANN, to="ann")
        with pytest.raises(AccessDenied):
            assign_case(session, case_id, actor=Actor("aud", Role.AUDITOR), to="ann")
        for name, why in (("lee", "lee is legal"), ("nobody", "no user 'nobody'"), (" ", "name")):
            with pytest.raises(InputError, match=why) as refused:
                assign_case(session, case_id, actor=SAM, to=name)
            assert refused.value.where == "to"
    _to_outcome(database, case_id)
    with database.transaction() as session:
        with pytest.raises(ConflictError, match="reached an outcome"):
            claim_case(session, case_id, actor=ANN)
        with pytest.raises(ConflictError, match="reached an outcome"):
            assign_case(session, case_id, actor=SAM, to="ann")
        assert assignee_of(session, case_id) == "ann"
    assert _audited(database, "claim_case", case_id) == []
    assert _audited(database, "assign_case", case_id) == []


@pytest.fixture
def client(mutable_resolved: tuple[Settings, Database]) -> Iterator[TestClient]:
    with TestClient(create_app(*mutable_resolved)) as test_client:
        yield test_client


def _as(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_the_api_claims_assigns_and_shows_the_assignee(
    client: TestClient, mutable_resolved: tuple[Settings, Database]
) -> None:
    _, database = mutable_resolved
    case_id = lead_case(database)
    ann, sam, lee = _as(client, "ann"), _as(client, "sam"), _as(client, "lee")
    shown = client.get(f"/api/cases/{case_id}", params={"as_of": AS_OF}, headers=sam)
    assert shown.status_code == 200 and shown.json()["case"]["assigned_to"] == "ann"
    claimed = client.post(f"/api/cases/{case_id}/claim", headers=sam)
    assert claimed.status_code == 409 and "assigned to ann" in claimed.text
    assert client.post(f"/api/cases/{case_id}/claim", headers=lee).status_code == 403
    refused = client.post(f"/api/cases/{case_id}/assign", json={"to": "sam"}, headers=ann)
    assert refused.status_code == 403 and "only a supervisor assigns" in refused.text
    unknown = client.post(f"/api/cases/{case_id}/assign", json={"to": "ghost"}, headers=sam)
    assert unknown.status_code == 422 and "ghost" in unknown.text
    given = client.post(f"/api/cases/{case_id}/assign", json={"to": "sam"}, headers=sam)
    assert given.status_code == 200
    assert given.json() == {"case_id": case_id, "assigned_to": "sam", "previous": "ann"}
    listed = client.get("/api/cases", headers=ann).json()
    assert next(c for c in listed if c["id"] == case_id)["assigned_to"] == "sam"
    _unassigned(database, case_id)
    taken = client.post(f"/api/cases/{case_id}/claim", headers=ann)
    assert taken.status_code == 200 and taken.json()["assigned_to"] == "ann"
    _to_outcome(database, case_id)
    late = client.post(f"/api/cases/{case_id}/assign", json={"to": "sam"}, headers=sam)
    assert late.status_code == 409 and "outcome" in late.text


def test_the_command_line_claims_and_assigns(
    mutable_resolved: tuple[Settings, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, database = mutable_resolved
    case_id = lead_case(database)
    monkeypatch.setenv("CASELINE_HOME", str(settings.home))
    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url)
    runner = CliRunner()
    ann, sam = cli_login(runner, "ann", PASSWORD), cli_login(runner, "sam", PASSWORD)
    refused = runner.invoke(cli, ["cases", "assign", str(case_id), "--to", "sam"], env=ann)
    assert refused.exit_code == 2 and "only a supervisor assigns" in refused.output
    given = runner.invoke(cli, ["cases", "assign", str(case_id), "--to", "sam"], env=sam)
    assert given.exit_code == 0, given.output
    assert f"case {case_id} is assigned to sam (was ann)" in given.output
    listed = runner.invoke(cli, ["cases", "list"], env=sam)
    assert listed.exit_code == 0 and "assigned to" in listed.output
    _unassigned(database, case_id)
    taken = runner.invoke(cli, ["cases", "claim", str(case_id)], env=ann)
    assert taken.exit_code == 0 and f"case {case_id} is assigned to ann" in taken.output
    again = runner.invoke(cli, ["cases", "claim", str(case_id)], env=sam)
    assert again.exit_code != 0 and "assigned to ann" in again.output
    shown = runner.invoke(cli, ["cases", "show", str(case_id), "--as-of", str(AS_OF)], env=ann)
    assert shown.exit_code == 0 and "assigned to ann" in shown.output
    with database.transaction() as session:
        assert assignee_of(session, case_id) == "ann"


def test_the_migration_gives_each_case_its_opener(tmp_path: Path) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0016")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cases (person_id, state, version, opened_by, opened_at, updated_at, "
                "origin) VALUES ('P1', 'lead', 1, 'ann', :now, :now, '{}')"
            ),
            {"now": dt.datetime(2026, 1, 1)},
        )
    command.upgrade(alembic_config(url), "head")
    with engine.begin() as connection:
        assert connection.execute(text("SELECT assigned_to FROM cases")).scalar_one() == "ann"
    command.downgrade(alembic_config(url), "0016")
    engine.dispose()


def test_the_pages_claim_and_assign_only_for_whom_they_may(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    case_id = lead_case(database)
    app = create_app(*mutable_resolved)
    ann, sam, lee = (web_sign_in(TestClient(app), name, PASSWORD) for name in ("ann", "sam", "lee"))
    board = lee.get("/cases")
    assert board.status_code == 200 and f'data-case-id="{case_id}"' in board.text
    assert 'class="claim-form"' not in board.text and 'class="assign-form"' not in board.text
    assert lee.post(f"/cases/{case_id}/claim").status_code == 403
    refused = ann.post(f"/cases/{case_id}/assign", data={"to": "ann"})
    assert refused.status_code == 403 and "only a supervisor assigns" in refused.text
    taken = sam.post(f"/cases/{case_id}/claim", data={"back": "case"})
    assert taken.status_code == 409 and "assigned to ann" in taken.text
    moved = sam.post(
        f"/cases/{case_id}/assign",
        data={"to": "sam", "back": "case", "as_of": str(AS_OF)},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/cases/{case_id}?as_of={AS_OF}"
    page = sam.get(moved.headers["location"]).text
    assert 'data-assigned-to="sam"' in page and "sam</strong> (you)" in page
    filtered = sam.get("/cases", params={"state": "lead"}).text
    assert re.search(rf'id="mine".*?data-case-id="{case_id}"', filtered, re.S)
    assert 'id="state-identity_review"' not in filtered
    wrong = sam.get("/cases", params={"state": "nowhere"})
    assert wrong.status_code == 422 and "no state &#39;nowhere&#39;" in wrong.text
    for client in (ann, sam, lee):
        client.close()
