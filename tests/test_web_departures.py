"""The departures page: each voluntary departure with its state and why, filtered by state,
for the roles that may list them."""

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from caseline.config import Settings
from caseline.db import Database
from caseline.server import create_app
from tests.case_pages import AS_OF
from tests.conftest import PASSWORD
from tests.web_support import web_sign_in


@pytest.fixture(scope="module")
def app(resolved: tuple[Settings, Database]) -> FastAPI:
    return create_app(*resolved)


def _as(app: FastAPI, username: str) -> TestClient:
    return web_sign_in(TestClient(app), username, PASSWORD)


def test_departures_list_each_state_and_filter_by_one(app: FastAPI) -> None:
    lee = _as(app, "lee")
    page = lee.get("/departures", params={"as_of": str(AS_OF)})
    assert page.status_code == 200
    states = re.findall(r'<tr data-person-id="[^"]+" data-state="([^"]+)"', page.text)
    assert states and set(states) <= {"verified", "probable", "pending", "overdue"}
    for state in set(states):
        only = lee.get("/departures", params={"as_of": str(AS_OF), "state": state}).text
        shown = re.findall(r'<tr data-person-id="[^"]+" data-state="([^"]+)"', only)
        assert shown == [state] * states.count(state)
    assert lee.get("/departures", params={"state": "gone"}).status_code == 422


def test_departures_are_refused_to_an_auditor(app: FastAPI) -> None:
    assert _as(app, "aud").get("/departures").status_code == 403
