from pathlib import Path

import duckdb
import pandas as pd
import pytest
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator

from caseline.resolve.engine import NEW_COLUMN, KeptRecords, blocked_pairs_sql
from caseline.resolve.engine.pairs import only_pairs_with_new_records
from caseline.resolve.frequencies import frequency_table
from caseline.resolve.incremental import write_part

KEYS = [(("family_key", "dob"), ("family_key", "dob")), (("ssn_hash",), ("ssn_hash",))]


def _records(rows: list[tuple[str, str | None, str | None, str | None]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["unique_id", "family_key", "dob", "ssn_hash"])
    return frame.astype(object).where(frame.notna(), None)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    kept = _records(
        [
            ("k1", "LI", "1980-01-01", None),
            ("k2", "LI", "1990-02-02", "s9"),
            ("k3", "WU", "1980-01-01", None),
            ("k4", "LI", "1980-01-01", "s1"),
        ]
    )
    write_part(kept, tmp_path / "part-0.parquet")
    return tmp_path


def test_a_batch_meets_the_kept_records_its_join_keys_pair_it_with(folder: Path) -> None:
    new = _records(
        [
            ("n1", "LI", "1980-01-01", None),
            ("n2", "ZO", None, "s9"),
            ("k4", "LI", "1980-01-01", "s1"),
        ]
    )
    with KeptRecords(folder, KEYS, ["family_key"]) as kept:
        candidates = kept.select(new)
        batch, frequencies = kept.batch_frame(), kept.frequencies()
    # k1 by family and date; k2 by SSN; k4 is in the batch itself, so not a candidate
    assert candidates == 2
    assert sorted(batch.loc[batch[NEW_COLUMN] == 0, "unique_id"]) == ["k1", "k2"]
    assert sorted(batch.loc[batch[NEW_COLUMN] == 1, "unique_id"]) == ["k4", "n1", "n2"]
    shares = dict(
        zip(
            frequencies["family_key"]["family_key"],
            frequencies["family_key"]["tf_family_key"],
            strict=True,
        )
    )
    # over kept and new together, each record once: LI 3 kept + n1, WU 1, ZO 1 (k4 not twice)
    assert shares == pytest.approx({"LI": 4 / 6, "ZO": 1 / 6})


def test_a_placed_batch_is_kept_and_counted_for_the_next(folder: Path) -> None:
    with KeptRecords(folder, KEYS, ["family_key"]) as kept:
        batch = _records([("n1", "ZO", "2000-03-03", None)])
        kept.add(write_part(batch, folder / "part-1.parquet"))
        kept.select(_records([("n2", "ZO", "2000-03-03", None)]))
        selected, frequencies = kept.batch_frame(), kept.frequencies()
    assert list(selected["unique_id"]) == ["n1", "n2"]
    assert list(selected[NEW_COLUMN]) == [0, 1]
    shares = dict(
        zip(
            frequencies["family_key"]["family_key"],
            frequencies["family_key"]["tf_family_key"],
            strict=True,
        )
    )
    assert shares["ZO"] == pytest.approx(2 / 6)


RULES = [
    {"blocking_rule": 'l."ssn_hash" = r."ssn_hash"'},
    {"blocking_rule": "l.dob = r.dob_swapped AND l.family_key = r.family_key"},  # one way
    {"blocking_rule": 'l."family_key" = r."family_key"'},
    {"blocking_rule": "l.keys = r.keys AND l.dob IS NULL", "arrays_to_explode": ["keys"]},
]
BATCH = pd.DataFrame(
    [
        ("a", "LI", "1980-01-02", "1980-02-01", "s1", [1, 2], 0),
        ("b", "LI", "1980-02-01", "1980-01-02", None, [2], 1),
        ("c", "LI", None, None, "s1", [1, 3], 0),  # meets a by SSN, but neither is new
        ("d", "WU", "1990-03-04", "1990-04-03", "s9", None, 1),
        ("e", "WU", "1990-04-03", "1990-03-04", None, [3], 0),
        ("f", "ZO", None, None, "s9", [3, 4], 0),
        ("g", "WU", "1990-04-03", "1990-03-04", None, [4], 1),
    ],
    columns=["unique_id", "family_key", "dob", "dob_swapped", "ssn_hash", "keys", NEW_COLUMN],
)


def _splink_pairs(rules: list[dict[str, object]]) -> list[tuple[str, str, str]]:
    """The pairs Splink's own blocking makes (each once; it may repeat a list rule's)."""
    settings = (
        SettingsCreator(link_type="dedupe_only", comparisons=[cl.ExactMatch("family_key")])
        .get_settings("duckdb")
        .as_dict()
    )
    settings["blocking_rules_to_generate_predictions"] = [
        {**rule, "sql_dialect": "duckdb"} for rule in rules
    ]
    linker = Linker(DuckDBAPI().register(BATCH), settings)
    return _pairs(linker.inference.compute_blocked_pairs_for_predict().as_pandas_dataframe())


def _pairs(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    columns = ["match_key", "join_key_l", "join_key_r"]
    return sorted({tuple(map(str, row)) for row in frame[columns].itertuples(index=False)})


@pytest.mark.parametrize("new_only", [False, True])
def test_the_pairs_made_are_splinks_each_once(new_only: bool) -> None:
    connection = duckdb.connect()
    connection.register("batch", BATCH)
    made = connection.sql(blocked_pairs_sql(RULES, "batch", new_only=new_only)).df()
    narrowed = only_pairs_with_new_records({"blocking_rules_to_generate_predictions": RULES})
    expected = _splink_pairs(
        narrowed["blocking_rules_to_generate_predictions"] if new_only else RULES
    )
    assert _pairs(made) == expected
    assert len(made) == len({(left, right) for _k, left, right in expected})  # each pair once
    # The list rule: f and g share key 4 and f has no date of birth; c and f share key 3,
    # but neither is new.
    assert ("3", "f", "g") in expected
    assert (("3", "c", "f") in expected) is not new_only
    new = set(BATCH.loc[BATCH[NEW_COLUMN] == 1, "unique_id"])
    assert all({left, right} & new for _k, left, right in expected) is new_only


def test_many_placed_batches_are_all_held(folder: Path) -> None:
    with KeptRecords(folder, KEYS, ["family_key"]) as kept:
        for i in range(40):  # more parts than are held apart: the placed ones are merged
            kept.add(write_part(_records([(f"p{i}", f"F{i}", None, f"t{i}")]), folder / f"{i}.pq"))
        kept.select(_records([("n1", "F3", None, "t3"), ("n2", "F39", None, "t0")]))
        batch = kept.batch_frame()
    assert sorted(batch.loc[batch[NEW_COLUMN] == 0, "unique_id"]) == ["p0", "p3"]


def test_incremental_frequencies_leave_the_pair_out_as_a_full_run_does(folder: Path) -> None:
    new = _records([("n1", "LI", "1980-01-01", None), ("n2", "ZO", None, "s9")])
    with KeptRecords(folder, KEYS, ["family_key"], scales={"family_key": 0.25}) as kept:
        kept.select(new)
        frequencies = kept.frequencies()["family_key"]
    shares = dict(zip(frequencies["family_key"], frequencies["tf_family_key"], strict=True))
    # LI 4 of 6 records, ZO 1: the same shares as a full run's table for those counts
    full_run = frequency_table("family_key", pd.Series({"LI": 4, "WU": 1, "ZO": 1}), 0.25)
    expected = dict(zip(full_run["family_key"], full_run["tf_family_key"], strict=True))
    assert shares == pytest.approx({"LI": expected["LI"], "ZO": expected["ZO"]})
    assert shares == pytest.approx({"LI": (4 - 2) / 6, "ZO": 0.25 / 6})
