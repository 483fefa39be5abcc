"""Every response says how long the app took: ``Server-Timing: app;dur=<milliseconds>``."""

import re
import time
from collections.abc import Iterator, Mapping

import pytest
from fastapi.testclient import TestClient

from caseline.config import Settings
from caseline.db import Database
from caseline.server import create_app

SERVER_TIMING = re.compile(r"^app;dur=(\d+(?:\.\d+)?)$")
SLOW_MS = 60


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    app = create_app(settings, database)

    @app.get("/slow-for-the-test")  # this app only: a handler known to take SLOW_MS
    def slow() -> dict[str, str]:
        time.sleep(SLOW_MS / 1000)
        return {"slept": f"{SLOW_MS} ms"}

    with TestClient(app) as test_client:
        yield test_client


def _duration(response_headers: Mapping[str, str]) -> float:
    header = response_headers.get("server-timing")
    assert header is not None, "no Server-Timing header"
    found = SERVER_TIMING.match(header)
    assert found, f"Server-Timing is {header!r}, not app;dur=<ms>"
    return float(found.group(1))


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/login", 200),  # a page
        ("GET", "/openapi.json", 200),  # JSON
        ("GET", "/no-such-page", 404),  # an error page
        ("GET", "/api/persons/P1", 401),  # a refusal under /api
        ("GET", "/static/caseline.css", 200),  # a file
    ],
)
def test_every_kind_of_response_says_how_long_the_app_took(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path)
    assert response.status_code == status, response.text
    assert _duration(response.headers) >= 0


def test_the_duration_is_the_time_the_handler_took(client: TestClient) -> None:
    started = time.perf_counter()
    response = client.get("/slow-for-the-test")
    round_trip_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 200
    assert SLOW_MS <= _duration(response.headers) <= round_trip_ms
