"""Pairs of records whose facts conflict as two people's would, whatever their names."""

from typing import Any

import numpy as np
import pandas as pd
import pytest

from caseline.resolve.conflicts import different_people
from caseline.resolve.features import add_features
from caseline.resolve.model import STORED_COLUMNS
from caseline.standardise import stored_match_keys

KEY = b"test identifier key"


def _record(dob: str | None = None, ssn: str | None = None, **names: str) -> dict[str, Any]:
    record: dict[str, Any] = {column: None for column in STORED_COLUMNS}
    record |= {"given_name": "HAI", "family_name": "HOANG", "date_of_birth": dob, **names}
    if ssn:
        record |= {
            "ssn_hash": f"hash-of-{ssn}",
            "identifier_typo_keys": f"ssn:{stored_match_keys('ssn', ssn, KEY)}",
        }
    return record


def _conflict(left: dict[str, Any], right: dict[str, Any]) -> bool:
    records = add_features(
        pd.DataFrame([left | {"unique_id": "l"}, right | {"unique_id": "r"}])[list(STORED_COLUMNS)]
    )
    return bool(different_people(records, np.array([0]), np.array([1]))[0])


@pytest.mark.parametrize(
    ("left", "right", "conflict"),
    [
        # Namesakes born decades apart, with two numbers.
        (_record("1952-05-12", "123456789"), _record("1984-11-07", "555443333"), True),
        # The same, but the numbers are one slip apart: perhaps one person after all.
        (_record("1952-05-12", "123456789"), _record("1984-11-07", "123456798"), False),
        # A day off across a new year changes the year and the day.
        (_record("1980-12-31", "123456789"), _record("1981-01-01", "555443333"), False),
        # A mistyped month keeps the year and the day.
        (_record("1991-11-15", "123456789"), _record("1991-10-15", "555443333"), False),
        # Dates alone conflict; with nothing else, that may be an error in one of them.
        (_record("1952-05-12"), _record("1984-11-07"), False),
        (_record("1952-05-12", "123456789"), _record(None, "555443333"), False),
        # Middle names that begin differently...
        (
            _record("1973-10-19", middle_name="FELIPE"),
            _record("1991-07-30", middle_name="AURELIO"),
            True,
        ),
        # ...unless given and middle name were written the other way round.
        (
            _record("1973-10-19", given_name="MAI", middle_name="BAO"),
            _record("1991-07-30", given_name="BAO", middle_name="MAI"),
            False,
        ),
    ],
)
def test_two_records_conflict_only_on_two_facts_at_once(
    left: dict[str, Any], right: dict[str, Any], conflict: bool
) -> None:
    assert _conflict(left, right) is conflict
