"""The API fuzzed from its OpenAPI document as the auditor, admin and data engineer."""

import pytest
from schemathesis.schemas import BaseSchema

from tests.fuzz_support import ROLES, api_schema, app, bearer, fuzz_every_operation, fuzzed_world

__all__ = ["api_schema", "app", "bearer", "fuzzed_world"]  # the fixtures this module uses


@pytest.mark.parametrize("username", ["aud", "ada", "eve"])
def test_no_operation_fails_or_breaks_its_schema(
    username: str, api_schema: BaseSchema, bearer: dict[str, dict[str, str]]
) -> None:
    assert username in ROLES
    fuzz_every_operation(username, api_schema, bearer)
