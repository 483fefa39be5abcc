from pathlib import Path

import duckdb
import pandas as pd
import pytest
import splink.comparison_library as cl
from splink import SettingsCreator

from caseline.resolve.engine import (
    NEW_COLUMN,
    KeptRecords,
    _only_pairs_with_new_records,
    _pairs_sql,
    create_linker,
)
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


def test_a_batch_is_paired_as_splink_pairs_it_with_each_rule_narrowed_to_new_records() -> None:
    rules = [
        'l."ssn_hash" = r."ssn_hash"',
        "l.dob = r.dob_swapped AND l.family_key = r.family_key",  # one way round only
        'l."family_key" = r."family_key"',
    ]
    settings = (
        SettingsCreator(link_type="dedupe_only", comparisons=[cl.ExactMatch("family_key")])
        .get_settings("duckdb")
        .as_dict()
    )
    settings["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": rule, "sql_dialect": "duckdb"} for rule in rules
    ]
    batch = pd.DataFrame(
        [
            ("a", "LI", "1980-01-02", "1980-02-01", "s1", 0),
            ("b", "LI", "1980-02-01", "1980-01-02", None, 1),
            ("c", "LI", None, None, "s1", 0),  # meets a by SSN, but neither is new
            ("d", "WU", "1990-03-04", "1990-04-03", "s9", 1),
            ("e", "WU", "1990-04-03", "1990-03-04", None, 0),
            ("f", "ZO", None, None, "s9", 0),
            ("g", "WU", "1990-04-03", "1990-03-04", None, 1),
        ],
        columns=["unique_id", "family_key", "dob", "dob_swapped", "ssn_hash", NEW_COLUMN],
    )
    linker = create_linker(batch, _only_pairs_with_new_records(settings), "duckdb")
    expected = linker.inference.compute_blocked_pairs_for_predict().as_pandas_dataframe()
    connection = duckdb.connect()
    connection.register("batch", batch)
    made = connection.sql(_pairs_sql(rules)).df()

    def pairs(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
        columns = ["match_key", "join_key_l", "join_key_r"]
        return sorted(tuple(map(str, row)) for row in frame[columns].itertuples(index=False))

    assert pairs(made) == pairs(expected)
    assert {key for key, _l, _r in pairs(made)} == {"0", "1", "2"}


def test_many_placed_batches_are_all_held(folder: Path) -> None:
    with KeptRecords(folder, KEYS, ["family_key"]) as kept:
        for i in range(40):  # more parts than are held apart: the placed ones are merged
            kept.add(write_part(_records([(f"p{i}", f"F{i}", None, f"t{i}")]), folder / f"{i}.pq"))
        kept.select(_records([("n1", "F3", None, "t3"), ("n2", "F39", None, "t0")]))
        batch = kept.batch_frame()
    assert sorted(batch.loc[batch[NEW_COLUMN] == 0, "unique_id"]) == ["p0", "p3"]
