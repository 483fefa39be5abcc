"""Days Caseline reads: a record's date outside 1800-2200 is a placeholder or a slip, left out
with the reason; a reference day outside them is a clear 422 (API), a message on the page or
exit 2 (command line), never a server error."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from caseline.cli import app as cli
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import Person
from caseline.errors import InputError
from caseline.profiles import build_profile
from caseline.profiles.address_evidence import reference_day
from caseline.server import create_app
from caseline.standardise import InvalidValue, parse_date
from tests.conftest import PASSWORD
from tests.web_support import web_sign_in

FAR = ("2262-04-12", "9999-12-31", "1066-10-14")


@pytest.mark.parametrize("text", FAR)
def test_a_record_date_outside_the_years_read_is_refused_with_the_reason(text: str) -> None:
    with pytest.raises(InvalidValue, match="outside the years 1800 to 2200"):
        parse_date(text)
    assert parse_date("2200-12-31") == dt.date(2200, 12, 31)


def test_a_reference_day_outside_the_years_read_is_an_input_error(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    with pytest.raises(InputError, match="as_of"):
        reference_day(dt.date(2262, 4, 12))
    with database.transaction() as session:
        person_id = session.scalars(select(Person.person_id).order_by(Person.person_id)).first()
        assert person_id is not None
        with pytest.raises(InputError, match="outside the years"):
            build_profile(session, person_id, dt.date(9999, 12, 31))


@pytest.fixture(scope="module")
def client(resolved: tuple[Settings, Database]) -> Iterator[TestClient]:
    with TestClient(create_app(*resolved)) as test_client:
        yield test_client


@pytest.mark.parametrize("day", FAR)
def test_the_api_answers_422_for_a_day_it_does_not_read(client: TestClient, day: str) -> None:
    token = client.post("/api/sessions", json={"username": "ann", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    for path, params in (
        ("/api/leads", {"as_of": day}),
        ("/api/departures", {"as_of": day}),
        ("/api/persons/P1", {"as_of": day, "purpose": "lead:nothing"}),
    ):
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 422, (path, response.text)
        assert "as_of" in response.text


def test_the_pages_and_the_command_line_say_what_is_wrong(client: TestClient) -> None:
    with TestClient(client.app) as browser:
        web_sign_in(browser, "ann", PASSWORD)
        page = browser.get("/leads", params={"as_of": "2262-04-12"})
        assert page.status_code in (200, 422) and "outside the years" in page.text
    result = CliRunner().invoke(cli, ["leads", "--as-of", "9999-12-31"])
    assert result.exit_code == 2 and "outside the years" in result.output
