"""Which level of a comparison a pair of records reaches: the slips each level is for."""

from typing import Any

import pandas as pd
import pytest

from caseline.resolve.engine import DEFAULT_ENGINE
from caseline.resolve.explain import level_of
from caseline.resolve.features import add_features
from caseline.resolve.model import STORED_COLUMNS, model_settings
from caseline.standardise import stored_match_keys

KEY = b"test identifier key"


def _record(**values: str) -> dict[str, Any]:
    return {column: None for column in STORED_COLUMNS} | values


def _ssn(number: str) -> dict[str, str]:
    keys = stored_match_keys("ssn", number, KEY)
    return {"ssn_hash": f"hash-of-{number}", "identifier_typo_keys": f"ssn:{keys}"}


def _level(comparison: str, left: dict[str, Any], right: dict[str, Any]) -> str:
    """The label of the level the pair reaches in ``comparison``, scored as Caseline does."""
    frame = add_features(
        pd.DataFrame([left | {"unique_id": "l"}, right | {"unique_id": "r"}])[list(STORED_COLUMNS)]
    )
    settings = model_settings(set(frame.columns))
    linker = DEFAULT_ENGINE.create_linker(frame, settings, pairs="none")
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    row = linker.inference.score_pair(*records).as_record_list()[0]
    found = next(c for c in settings["comparisons"] if c["output_column_name"] == comparison)
    label: str = level_of(found, settings, row)["label_for_charts"]
    return label


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("1933-02-12", "1933-02-12", "Exact match on date_of_birth"),
        ("1933-02-12", "1933-12-02", "day and month exchanged"),
        ("1933-02-12", "1933-02-13", "two of year, month and day agree"),
        ("1933-02-12", "1933-01-22", "two neighbouring digits exchanged"),
        ("1957-10-24", "1957-12-04", "two neighbouring digits exchanged"),
        ("1933-02-12", "1934-03-12", "All other comparisons"),
    ],
)
def test_date_of_birth_levels(left: str, right: str, level: str) -> None:
    assert _level("date_of_birth", _record(date_of_birth=left), _record(date_of_birth=right)) == (
        level
    )


@pytest.mark.parametrize(
    ("right", "level"),
    [
        ("123456789", "Exact match on ssn_hash"),
        ("123456780", "one character mistyped, dropped or exchanged"),
        ("123465789", "one character mistyped, dropped or exchanged"),
        ("12345678", "one character mistyped, dropped or exchanged"),
        ("123456711", "All other comparisons"),
    ],
)
def test_an_identifier_one_slip_apart_has_a_level_of_its_own(right: str, level: str) -> None:
    assert _level("ssn_hash", _record(**_ssn("123456789")), _record(**_ssn(right))) == level


@pytest.mark.parametrize(
    ("right", "level"),
    [
        (("LANGER", "GABRIELLE"), "same words, other order"),
        (("LAZNGER", "GABRIELLE"), "given and family exchanged"),  # and mistyped
        (("GABRIELLE", "LANGER"), "same name"),
        (("HOLLY", "LANGER"), "same family name, other given name"),
    ],
)
def test_names_written_the_other_way_round(right: tuple[str, str], level: str) -> None:
    left = _record(given_name="GABRIELLE", family_name="LANGER")
    given, family = right
    assert _level("name", left, _record(given_name=given, family_name=family)) == level
