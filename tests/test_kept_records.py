from pathlib import Path

import pandas as pd
import pytest

from caseline.resolve.engine import KeptRecords
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
        selected, frequencies = kept.select(new)
    # k1 by family and date; k2 by SSN; k4 is in the batch itself, so not a candidate
    assert sorted(selected["unique_id"]) == ["k1", "k2"]
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
        selected, frequencies = kept.select(_records([("n2", "ZO", "2000-03-03", None)]))
    assert list(selected["unique_id"]) == ["n1"]
    shares = dict(
        zip(
            frequencies["family_key"]["family_key"],
            frequencies["family_key"]["tf_family_key"],
            strict=True,
        )
    )
    assert shares["ZO"] == pytest.approx(2 / 6)
