"""Fuzzing the API from its own OpenAPI document, signed in as a role (schemathesis).

For every operation the document declares, schemathesis draws requests (valid ones and ones
the schema forbids) and checks each answer: never a server error, a status the document
declares for the operation, a content type it declares, and a body that matches the
declared schema. The fuzz runs on the module's own copy of the resolved world, since it
posts decisions, cases and disputes as freely as it reads.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.schemas import BaseSchema

from caseline.config import Settings
from caseline.db import Database
from caseline.oversight import Role, create_user
from caseline.server import create_app
from tests.conftest import ADMIN, PASSWORD, USERS, copy_workspace

# Each operation, as each role, tries this many requests (CASELINE_FUZZ_EXAMPLES for a longer
# run): with the schema's negative mode, enough to reach parameters' edges (blank, long, out
# of range, the wrong type) in minutes across every role and both databases.
EXAMPLES_PER_OPERATION = int(os.environ.get("CASELINE_FUZZ_EXAMPLES", "5"))
ROLES = {**USERS, "ada": Role.ADMIN, "eve": Role.DATA_ENGINEER}


@pytest.fixture(scope="module")
def fuzzed_world(
    resolved: tuple[Settings, Database], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, Database]]:
    with copy_workspace(*resolved, tmp_path_factory.mktemp("fuzzed")) as (settings, database):
        with database.transaction() as session:
            for username, role in ROLES.items():
                if username not in USERS:
                    create_user(session, username, role, PASSWORD, actor=ADMIN)
        yield settings, database


@pytest.fixture(scope="module")
def app(fuzzed_world: tuple[Settings, Database]) -> Any:
    return create_app(*fuzzed_world)


@pytest.fixture(scope="module")
def bearer(app: Any) -> dict[str, dict[str, str]]:
    """A session token for each role's user."""
    headers = {}
    with TestClient(app) as client:
        for username in ROLES:
            response = client.post(
                "/api/sessions", json={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            headers[username] = {"Authorization": f"Bearer {response.json()['token']}"}
    return headers


@pytest.fixture(scope="module")
def api_schema(app: Any) -> BaseSchema:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # Every operation of the API, whatever the role may do (a refusal must be declared too).
    return schema.include(path_regex="^/api/")


def _operations(schema: BaseSchema) -> list[Any]:
    """Every operation; an operation whose declaration schemathesis cannot read fails."""
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"an operation's declaration is not valid: {result}"
        operations.append(result.ok())
    return operations


def fuzz_every_operation(
    username: str, api_schema: BaseSchema, bearer: dict[str, dict[str, str]]
) -> None:
    """Every operation, with requests drawn from its schema (valid ones and ones the schema
    forbids), as ``username``; fails naming each operation that broke a check."""
    failures: list[str] = []
    for operation in _operations(api_schema):
        strategies = [operation.as_strategy(generation_mode=mode) for mode in GenerationMode]

        @given(case=st.one_of(strategies))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case: Any) -> None:
            case.call_and_validate(headers=bearer[username])

        try:
            fuzz()
        except (AssertionError, FailureGroup, Failure) as exc:
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    assert not failures, f"{len(failures)} operations failed as {username}:\n" + "\n\n".join(
        failures
    )
