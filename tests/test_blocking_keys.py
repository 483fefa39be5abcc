"""The keys blocking pairs records on: which records meet, and that the keys are stable."""

import duckdb
import pandas as pd

from caseline.resolve.blocking_keys import NAME_VARIANT_CAP
from caseline.resolve.engine import blocked_pairs_sql
from caseline.resolve.features import add_features
from caseline.resolve.model import STORED_COLUMNS, model_settings
from caseline.standardise import stored_match_keys


def _records(*rows: dict[str, str]) -> pd.DataFrame:
    filled = [
        {c: None for c in STORED_COLUMNS} | {"unique_id": f"r{i}"} | r for i, r in enumerate(rows)
    ]
    return add_features(pd.DataFrame(filled, columns=list(STORED_COLUMNS)))


def _shared(frame: pd.DataFrame, column: str, a: int, b: int) -> bool:
    return bool(_keys(frame, column, a) & _keys(frame, column, b))


def _keys(frame: pd.DataFrame, column: str, row: int) -> set[int]:
    return set(frame[column].iloc[row]) if frame[column].notna().iloc[row] else set()


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    rules = model_settings(set(frame.columns))["blocking_rules_to_generate_predictions"]
    connection = duckdb.connect()
    connection.register("records", frame)
    made = connection.sql(blocked_pairs_sql(rules, "records")).fetchall()
    return {(left, right) for _key, left, right in made}


def test_one_shared_name_sound_meets_in_the_context_of_a_date_of_birth() -> None:
    frame = _records(
        {"given_name": "MARIA", "family_name": "GARCIA LOPEZ", "date_of_birth": "1980-03-04"},
        {"given_name": "MARIE", "family_name": "LOPES", "date_of_birth": "1980-03-04"},
        {"given_name": "MARIE", "family_name": "LOPES", "date_of_birth": "1980-04-03"},
        {"given_name": "MARIE", "family_name": "LOPES", "date_of_birth": "1981-03-04"},
    )
    assert _shared(frame, "context_keys", 0, 1)  # LOPEZ ~ LOPES, same day
    assert _shared(frame, "context_keys", 0, 2)  # day and month exchanged
    assert not _shared(frame, "context_keys", 0, 3)  # another year: no context in common


def test_a_name_alone_meets_only_where_a_record_has_no_date_of_birth() -> None:
    frame = _records(
        {"given_name": "LYHA", "family_name": "LARIBI", "address_key": "2428 REBECCA SHOAL"},
        {"given_name": "LYNA", "family_name": "LARIBI", "date_of_birth": "1997-05-13"},
        {"given_name": "LYNA", "family_name": "LARIBI", "date_of_birth": "1960-01-01"},
    )
    # A one-letter difference in the given name still shares a piece of the name.
    assert _shared(frame, "rare_name_keys", 0, 1)
    pairs = _pairs(frame)
    assert {("r0", "r1"), ("r0", "r2")} <= pairs
    assert ("r1", "r2") not in pairs  # both dated, other dates: nothing but the name


def test_a_piece_of_name_held_by_too_many_records_is_not_a_key_alone() -> None:
    common = [{"given_name": "JOSE", "family_name": "GARCIA"}] * (NAME_VARIANT_CAP + 1)
    frame = _records(*common, {"given_name": "XOCHITL", "family_name": "GARCIA"})
    assert not _keys(frame, "rare_name_keys", 0)  # every piece of it: 101 holders
    assert _keys(frame, "rare_name_keys", len(frame) - 1)
    assert not _shared(frame, "rare_name_keys", 0, 1)
    assert frame["name_fwd_rare"].iloc[0] is None  # the crossed rule's key too
    assert frame["name_fwd_rare"].iloc[-1] is not None


def test_a_records_context_keys_do_not_depend_on_the_other_records() -> None:
    rows = [
        {
            "given_name": "ANH",
            "family_name": "PHAM",
            "date_of_birth": "1964-01-27",
            "postcode": "85661",
        },
        {
            "given_name": "XUAN",
            "family_name": "FAM",
            "postcode": "99337",
            "address_key": "1 WATERS",
        },
    ]
    together, alone = _records(*rows), _records(rows[1])
    assert list(together["context_keys"].iloc[1]) == list(alone["context_keys"].iloc[0])


def test_the_rules_run_on_records_without_any_key() -> None:
    frame = _records({"given_name": "A"}, {"family_name": "B"})
    assert frame["context_keys"].isna().all()
    assert _pairs(frame) == set()


def test_hashed_words_keep_which_name_holds_which_word() -> None:
    frame = _records(
        {"given_name": "ANA MARIA", "family_name": "LOPEZ"},
        {"given_name": "MARIA", "family_name": "LOPEZ"},
        {"given_name": "ANA", "family_name": "PEREZ"},
        {"given_name": None, "family_name": None},
    )
    words = [_keys(frame, "name_word_keys", row) for row in range(4)]
    assert len(words[0]) == 3 and words[1] < words[0]  # MARIA LOPEZ within ANA MARIA LOPEZ
    assert not words[2] <= words[0] and len(words[0] & words[2]) == 1  # ANA, not PEREZ
    assert frame["name_word_keys"].isna().iloc[3]  # no name, no list
    # The same word hashes alike in another frame (another process, the incremental path).
    alone = _records({"given_name": "MARIA", "family_name": "LOPEZ"})
    assert _keys(alone, "name_word_keys", 0) == words[1]


def test_numbers_one_slip_apart_meet_when_nothing_else_does() -> None:
    def ssn(number: str) -> dict[str, str]:
        keys = stored_match_keys("ssn", number, b"k")
        return {"ssn_hash": f"hash-of-{number}", "identifier_typo_keys": f"ssn:{keys}"}

    frame = _records(
        {"given_name": "VANESSA", "family_name": "GEORGE", "date_of_birth": "1942-02-10"}
        | ssn("3116789"),
        {"given_name": "VANESA", "family_name": "GEOGRE", "date_of_birth": "1942-02-20"}
        | ssn("3116798"),  # two digits exchanged
        {"given_name": "VANESSA", "family_name": "GEORGE", "date_of_birth": "1924-06-13"}
        | ssn("3116700"),  # two slips
    )
    pairs = _pairs(frame)
    assert ("r0", "r1") in pairs
    assert ("r0", "r2") not in pairs and ("r1", "r2") not in pairs
