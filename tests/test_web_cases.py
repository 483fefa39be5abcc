"""The case pages check roles on the server and show what the lifecycle table gives each role;
a refused step or lead comes back as the page, saying why."""

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from caseline.cases import find_leads
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import Case, Person
from caseline.oversight import Actor, Role
from caseline.server import create_app
from tests.case_pages import AS_OF, lead_case, status_stopped_case
from tests.conftest import PASSWORD
from tests.purpose_support import countersigned
from tests.web_support import web_sign_in


@pytest.fixture
def app(mutable_resolved: tuple[Settings, Database]) -> FastAPI:
    return create_app(*mutable_resolved)


@pytest.fixture(scope="module")
def shared_app(resolved: tuple[Settings, Database]) -> FastAPI:
    """An app on the shared world, for what only reads it."""
    return create_app(*resolved)


@pytest.fixture
def signed_in() -> Iterator[dict[str, TestClient]]:
    """Clients signed in through the web form, one per user, closed after the test."""
    clients: dict[str, TestClient] = {}
    yield clients
    for client in clients.values():
        client.close()


def _as(app: FastAPI, username: str) -> TestClient:
    return web_sign_in(TestClient(app), username, PASSWORD)


def _nav(page: str) -> list[str]:
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', page, re.S)
    assert nav is not None
    return re.findall(r">([^<]+)</a>", nav.group(1))


def _form_for(page: str, action: str) -> bool:
    return re.search(rf'<form[^>]*class="step-form"[^>]*data-action="{action}"', page) is not None


def _field_error(page: str, action: str, field: str) -> str:
    """The message beside a step form's field, which the field names as what describes it."""
    form = re.search(rf'<form[^>]*data-action="{action}".*?</form>', page, re.S)
    assert form is not None, f"no form for {action}"
    error_id = f"{action}-{field}-error"
    control = re.search(rf'<[a-z]+ name="{field}"[^>]*>', form.group(0))
    assert control is not None and f'aria-describedby="{error_id}"' in control.group(0)
    assert 'aria-invalid="true"' in control.group(0)
    error = re.search(rf'<p class="error field-error" id="{error_id}"[^>]*>(.*?)</p>',
                      form.group(0), re.S)  # fmt: skip
    assert error is not None, f"no message beside {field}"
    return error.group(1)


def test_an_auditor_is_refused_every_case_page(shared_app: FastAPI) -> None:
    aud = _as(shared_app, "aud")
    for path in ("/leads", "/cases", "/cases/1", "/cases/1/person", "/cases/1/dossiers/1"):
        response = aud.get(path, params={"as_of": str(AS_OF)})
        assert response.status_code == 403, path
        assert "may not" in response.text
    assert aud.post("/cases", data={"lead_id": "x:P1:0"}).status_code == 403
    step = {"action": "begin_review", "expected_version": "1", "reason": "an auditor's step"}
    assert aud.post("/cases/1/steps", data=step).status_code == 403


def test_legal_reads_cases_but_opens_none(shared_app: FastAPI) -> None:
    lee = _as(shared_app, "lee")
    board = lee.get("/cases")
    assert board.status_code == 200
    assert _nav(board.text) == ["Search", "Cases", "Departures", "Disputes", "Policy"]
    assert lee.get("/leads").status_code == 403
    assert lee.post("/cases", data={"lead_id": "x:P1:0"}).status_code == 403
    ann = _as(shared_app, "ann")
    assert _nav(ann.get("/cases").text) == [
        "Search",
        "Leads",
        "Cases",
        "Departures",
        "Review pairs",
        "Policy",
    ]


def test_the_leads_page_filters_by_rule_and_refuses_an_unknown_one(shared_app: FastAPI) -> None:
    ann = _as(shared_app, "ann")
    page = ann.get("/leads", params={"as_of": str(AS_OF), "rule": "stay_ended_no_exit"})
    assert page.status_code == 200
    rules = set(re.findall(r'data-rule="([^"]+)"', page.text))
    assert rules == {"stay_ended_no_exit"}
    assert ann.get("/leads", params={"rule": "hunch"}).status_code == 422
    assert ann.get("/leads", params={"as_of": "01/01/2026"}).status_code == 422


def test_an_analyst_sees_legal_steps_but_no_form_for_them(
    app: FastAPI, mutable_resolved: tuple[Settings, Database]
) -> None:
    case_id = status_stopped_case(*mutable_resolved)
    ann, lee = _as(app, "ann"), _as(app, "lee")
    page = ann.get(f"/cases/{case_id}", params={"as_of": str(AS_OF)}).text
    assert 'id="step-clear_status"' in page and "taken by legal, not analyst" in page
    assert not _form_for(page, "clear_status") and _form_for(page, "propose_action")
    assert _form_for(
        lee.get(f"/cases/{case_id}", params={"as_of": str(AS_OF)}).text, "clear_status"
    )

    version = re.search(r'id="case-version">(\d+)<', page)
    assert version is not None
    step = {"action": "clear_status", "expected_version": version.group(1), "reason": "I may not"}
    refused = ann.post(f"/cases/{case_id}/steps", data=step, follow_redirects=False)
    assert refused.status_code == 403 and "clear_status is taken by legal" in refused.text
    taken = lee.post(
        f"/cases/{case_id}/steps",
        data={**step, "reason": "the card was revoked", "as_of": str(AS_OF)},
        follow_redirects=False,
    )
    assert taken.status_code == 303
    assert taken.headers["location"] == f"/cases/{case_id}?as_of={AS_OF}"


def test_a_refused_step_shows_why_and_keeps_what_was_typed(
    app: FastAPI, mutable_resolved: tuple[Settings, Database]
) -> None:
    _, database = mutable_resolved
    case_id = lead_case(database)
    ann = _as(app, "ann")
    url, day = f"/cases/{case_id}/steps", {"as_of": str(AS_OF)}
    begin = {"action": "begin_review", "expected_version": "1", **day}
    for blank in ("", "  \t  "):
        unbegun = ann.post(url, data={**begin, "reason": blank})
        assert unbegun.status_code == 422 and 'data-state="lead"' in unbegun.text
        error = _field_error(unbegun.text, "begin_review", "reason")
        assert "begin_review needs a reason of at least 5 characters" in error
    begun = ann.post(url, data={**begin, "reason": "the stay ended"})
    assert begun.status_code == 200 and 'data-state="identity_review"' in begun.text
    history = re.search(r'<li class="history-step" data-action="begin_review".*?</li>',
                        begun.text, re.S)  # fmt: skip
    assert history is not None and "Reason: the stay ended" in history.group(0)
    assert "<small>lead → identity review</small>" in history.group(0)
    assert re.search(r"By ann \(analyst\) on <span[^>]*>\d{4}-\d\d-\d\d \d\d:\d\d UTC<",
                     history.group(0))  # fmt: skip

    typed = "the records agree on name and birth"
    confirm = {"action": "confirm_identity", "expected_version": "2", "reason": typed, **day}
    stopped = ann.post(url, data=confirm)
    assert stopped.status_code == 409
    assert 'data-kind="GuardStopped"' in stopped.text
    assert 'data-guard="identity_seen"' in stopped.text and "Clears by: open the" in stopped.text
    assert f">{typed}</textarea>" in stopped.text

    short = ann.post(url, data={**confirm, "reason": "ok"})
    assert short.status_code == 422 and "a reason of at least 5 characters" in short.text
    assert "given 2 characters" in _field_error(short.text, "confirm_identity", "reason")
    assert ">ok</textarea>" in short.text
    stale = ann.post(url, data={**begin, "reason": "the stay ended"})
    assert stale.status_code == 409 and "now identity_review at version 2" in stale.text


def test_opening_a_lead_twice_points_to_the_open_case(
    app: FastAPI, mutable_resolved: tuple[Settings, Database]
) -> None:
    ann = _as(app, "ann")
    leads = ann.get("/leads", params={"as_of": str(AS_OF), "rule": "stay_ended_no_exit"}).text
    lead_id = re.findall(r'data-lead-id="([^"]+)"', leads)[0]
    form = {"lead_id": lead_id, "as_of": str(AS_OF), "rule": "stay_ended_no_exit"}
    opened = ann.post("/cases", data=form, follow_redirects=False)
    assert opened.status_code == 303
    case_url = opened.headers["location"]
    assert re.fullmatch(rf"/cases/\d+\?as_of={AS_OF}", case_url)
    again = ann.post("/cases", data=form, follow_redirects=False)
    assert again.status_code == 409 and "is already open on person" in again.text
    row = re.search(rf'data-lead-id="{re.escape(lead_id)}".*?</tr>', again.text, re.S)
    assert row is not None and f'href="{case_url}"' in row.group(0)
    board = ann.get("/cases").text
    assert re.search(r'id="state-lead".*?data-case-id="\d+"', board, re.S)


def test_an_analyst_opens_a_case_from_a_profile_for_a_lead_and_legal_cannot(
    app: FastAPI, mutable_resolved: tuple[Settings, Database]
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        lead = find_leads(session, AS_OF)[0]
        person = session.scalars(
            select(Person.person_id)
            .where(Person.person_id != lead.person_id)
            .order_by(Person.person_id)
            .limit(1)
        ).one()
    ann, lee = _as(app, "ann"), _as(app, "lee")
    countersigned(database, Actor("ann", Role.ANALYST), person, "a tip about this person")
    countersigned(database, Actor("lee", Role.LEGAL), person, "legal review of a file")
    profile = ann.get(f"/persons/{person}", params={"purpose": "a tip about this person"})
    assert 'id="open-case"' in profile.text and f'action="/persons/{person}/cases"' in profile.text
    lee_profile = lee.get(f"/persons/{person}", params={"purpose": "legal review of a file"})
    assert lee_profile.status_code == 200 and 'id="open-case"' not in lee_profile.text
    form = {"reason": "the name on the lead", "lead_id": lead.lead_id, "as_of": str(AS_OF)}
    assert lee.post(f"/persons/{person}/cases", data=form).status_code == 403
    assert ann.post(f"/persons/{person}/cases", data={**form, "reason": "no"}).status_code == 422
    opened = ann.post(f"/persons/{person}/cases", data=form, follow_redirects=False)
    assert opened.status_code == 303
    case_page = ann.get(opened.headers["location"])
    assert case_page.status_code == 200 and person in case_page.text
    assert '<span class="opened-why">the name on the lead</span>' in case_page.text
    with database.transaction() as session:
        case = session.scalars(select(Case).where(Case.person_id == person)).one()
    assert case.origin["lead_id"] == lead.lead_id and case.origin["records"] == list(lead.records)
    again = ann.post(f"/persons/{person}/cases", data=form)
    assert again.status_code == 409 and "already open" in again.text
