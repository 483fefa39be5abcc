"""A person's variants of one address are one address; two addresses never become one."""

import datetime as dt

import pandas as pd
import pytest

from caseline.profiles.address_evaluation import _one_hot
from caseline.profiles.address_evidence import gather_evidence

AS_OF = dt.date(2026, 1, 1)
SEEN = dt.date(2024, 12, 31)


def _records(*addresses: tuple[str, str | None, str | None], person: str = "P1") -> pd.DataFrame:
    """One tax record per (number and street, unit, ZIP) given, a day apart, the first most
    often written (three times)."""
    rows = []
    for i, (street, unit, postcode) in enumerate(addresses):
        number, _, name = street.partition(" ")
        for copy in range(3 if i == 0 else 1):
            rows.append({
                "person_id": person, "record_id": f"{person}-{i}-{copy}", "source": "tax",
                "observed_on": SEEN - dt.timedelta(days=10 * i + copy), "valid_from": None,
                "valid_to": None, "street_number": number, "street": name, "unit": unit,
                "city": "SPRINGFIELD", "state": "IL", "postcode": postcode,
            })  # fmt: skip
    frame = pd.DataFrame(rows)
    return frame.astype(object).where(frame.notna(), None)


@pytest.mark.parametrize(
    "slip",
    [
        ("12 MAIN ST", "4", None),  # the ZIP code left out
        ("12 MAIN ST", "4", "62714"),  # one ZIP digit off
        ("12 MAIN ST", None, "62704"),  # the unit left out
        ("21 MAIN ST", "4", "62704"),  # two neighbouring digits of the number exchanged
        ("12 MIAN ST", "4", "62704"),  # the street misspelt
        ("12 MAIN STT", "4", "62704"),  # the street type misspelt, not another type
    ],
)
def test_a_variant_one_slip_from_the_most_written_joins_it(
    slip: tuple[str, str | None, str | None],
) -> None:
    evidence = gather_evidence(_records(("12 MAIN ST", "4", "62704"), slip), AS_OF)
    assert list(evidence["address_key"]) == ["12 MAIN ST 4 62704"]
    assert evidence.iloc[0]["records"] == 4
    assert len(evidence.iloc[0]["variants"]) == 2


@pytest.mark.parametrize(
    "other",
    [
        ("12 MAIN ST", "5", "62704"),  # the next flat
        ("13 MAIN ST", "4", "62704"),  # the next house
        ("12 MAIN CT", "4", "62704"),  # another street type
        ("12 MAIN ST", None, "62714"),  # two slips at once
        ("12 MIAN ST", "4", None),  # two slips at once
        ("12 OAK ST", "4", "62704"),  # another street
    ],
)
def test_another_address_stays_apart(other: tuple[str, str | None, str | None]) -> None:
    evidence = gather_evidence(_records(("12 MAIN ST", "4", "62704"), other), AS_OF)
    assert len(evidence) == 2


def test_variants_are_merged_within_a_person_only() -> None:
    records = pd.concat(
        [
            _records(("12 MAIN ST", "4", "62704")),
            _records(("12 MAIN ST", None, "62704"), person="P2"),
        ]
    )
    evidence = gather_evidence(records, AS_OF)
    assert dict(zip(evidence["person_id"], evidence["address_key"], strict=True)) == {
        "P1": "12 MAIN ST 4 62704",
        "P2": "12 MAIN ST 62704",
    }


def test_the_most_recent_rule_reads_when_a_record_began_not_when_an_account_closed() -> None:
    """An account at the old home closing after the move says the person left it: the most
    recent record is the one at the new home."""
    rows = [
        {"person_id": "P1", "record_id": "u", "source": "utility", "observed_on": None,
         "valid_from": dt.date(2015, 3, 1), "valid_to": dt.date(2025, 6, 1),
         "street_number": "1", "street": "OLD RD", "unit": None, "city": "X", "state": "IL",
         "postcode": "62704"},
        {"person_id": "P1", "record_id": "t", "source": "tax", "observed_on": dt.date(2025, 4, 1),
         "valid_from": None, "valid_to": None, "street_number": "9", "street": "NEW AVE",
         "unit": None, "city": "X", "state": "IL", "postcode": "62704"},
    ]  # fmt: skip
    frame = pd.DataFrame(rows)
    evidence = gather_evidence(frame.astype(object).where(frame.notna(), None), AS_OF)
    evidence = evidence.assign(lead=0)
    chosen = evidence.loc[_one_hot(evidence, ["latest_start", "records"]) == 1, "address_key"]
    assert list(chosen) == ["9 NEW AVE 62704"]
    old = evidence.set_index("address_key").loc["1 OLD RD 62704"]
    assert old["last_seen"] == pd.Timestamp(2025, 6, 1)  # it was last seen later, still
