import csv
from pathlib import Path

from caseline.synth import generate_world


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_same_seed_gives_identical_files(tmp_path: Path) -> None:
    first = generate_world(50, seed=3, out_dir=tmp_path / "a")
    second = generate_world(50, seed=3, out_dir=tmp_path / "b")
    for name in [*first.source_files, "truth"]:
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (
            tmp_path / "b" / f"{name}.csv"
        ).read_bytes()
    assert first.records_by_source == second.records_by_source


def test_a_different_seed_gives_a_different_world(tmp_path: Path) -> None:
    generate_world(50, seed=3, out_dir=tmp_path / "a")
    generate_world(50, seed=4, out_dir=tmp_path / "b")
    assert (tmp_path / "a" / "truth.csv").read_bytes() != (
        tmp_path / "b" / "truth.csv"
    ).read_bytes()


def test_every_record_has_exactly_one_truth_row(tmp_path: Path) -> None:
    world = generate_world(80, seed=5, out_dir=tmp_path)
    truth = _read(world.truth_file)
    truth_keys = {(row["source"], row["source_key"]) for row in truth}
    assert len(truth_keys) == len(truth)
    key_columns = {
        "motor_vehicle": "licence_number",
        "tax": "filing_id",
        "utility": "account_number",
    }
    for source, path in world.source_files.items():
        rows = _read(path)
        assert len(rows) == world.records_by_source[source]
        assert {(source, row[key_columns[source]]) for row in rows} <= truth_keys
    assert sum(world.records_by_source.values()) == len(truth)
    assert {row["entity_id"] for row in truth} <= {
        row["entity_id"] for row in _read(tmp_path / "persons.csv")
    }
