"""The synthetic world: deterministic, garbled at the configured rates, and consistent truth."""

import csv
import datetime as dt
import math
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path

import pytest

from caseline.synth import ErrorRates, WorldSummary, generate_world
from caseline.synth.tables import SOURCE_COLUMNS, SOURCE_KEYS


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    return generate_world(3000, seed=17, out_dir=tmp_path_factory.mktemp("world"), workers=1)


def test_the_same_seed_gives_identical_files_whatever_the_workers(tmp_path: Path) -> None:
    first = generate_world(600, seed=3, out_dir=tmp_path / "a", workers=1, chunk_persons=200)
    second = generate_world(600, seed=3, out_dir=tmp_path / "b", workers=2, chunk_persons=200)
    for name in [*SOURCE_COLUMNS, "truth", "persons", "residences", "statuses"]:
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (
            tmp_path / "b" / f"{name}.csv"
        ).read_bytes(), name
    assert first.records_by_source == second.records_by_source


def test_a_different_seed_gives_a_different_world(tmp_path: Path) -> None:
    generate_world(100, seed=3, out_dir=tmp_path / "a", workers=1)
    generate_world(100, seed=4, out_dir=tmp_path / "b", workers=1)
    assert (tmp_path / "a" / "truth.csv").read_bytes() != (
        tmp_path / "b" / "truth.csv"
    ).read_bytes()


def test_every_error_kind_occurs_at_its_configured_rate(world: WorldSummary) -> None:
    log = world.errors
    assert set(log.eligible) == set(ErrorRates.__dataclass_fields__)
    for kind, expected in log.expected.items():
        applied = log.applied.get(kind, 0)
        spread = math.sqrt(expected)  # binomial sd is at most sqrt(n p)
        assert applied > 0, kind
        assert abs(applied - expected) <= 4 * spread + 3, (
            f"{kind}: {applied} garbled, {expected:.0f} expected"
        )


def test_a_knob_changes_the_rate_it_names(tmp_path: Path) -> None:
    base = generate_world(400, seed=5, out_dir=tmp_path / "a", workers=1).errors
    more = generate_world(
        400, seed=5, out_dir=tmp_path / "b", workers=1, rates=ErrorRates(date_of_birth_swap=0.3)
    ).errors
    base_rate = base.applied["date_of_birth_swap"] / base.eligible["date_of_birth_swap"]
    more_rate = more.applied["date_of_birth_swap"] / more.eligible["date_of_birth_swap"]
    assert base_rate < 0.05
    assert 0.25 < more_rate < 0.35


def test_truth_rows_name_the_errors_of_their_records(world: WorldSummary) -> None:
    truth = {(r["source"], r["source_key"]): r for r in _read(world.truth_file)}
    born = {
        p["entity_id"]: dt.date.fromisoformat(p["date_of_birth"])
        for p in _read(world.file("persons"))
    }
    checked = 0
    for row in _read(world.source_files["motor_vehicle"]):
        record_truth = truth[("motor_vehicle", row["transaction"])]
        true_dob = born[record_truth["entity_id"]]
        kinds = record_truth["errors"].split(";")
        if "date_of_birth_swap" in kinds:
            checked += 1
            assert dt.date.fromisoformat(row["dob"]) == true_dob.replace(
                month=true_dob.day, day=true_dob.month
            )
        elif not {"missing_date_of_birth", "date_of_birth_typo"} & set(kinds):
            assert dt.date.fromisoformat(row["dob"]) == true_dob
    assert checked > 0


def test_every_record_has_exactly_one_true_person(world: WorldSummary) -> None:
    truth = _read(world.truth_file)
    keys = Counter((r["source"], r["source_key"]) for r in truth)
    assert max(keys.values()) == 1
    persons = {p["entity_id"] for p in _read(world.file("persons"))}
    assert len(persons) == world.persons
    assert {r["entity_id"] for r in truth} <= persons
    for source, path in world.source_files.items():
        rows = _read(path)
        assert len(rows) == world.records_by_source[source] > 0, source
        assert {(source, row[SOURCE_KEYS[source]]) for row in rows} == {
            k for k in keys if k[0] == source
        }


def test_residence_periods_do_not_overlap(world: WorldSummary) -> None:
    periods = defaultdict(list)
    for r in _read(world.file("residences")):
        moved_out = dt.date.fromisoformat(r["moved_out"]) if r["moved_out"] else dt.date.max
        periods[r["entity_id"]].append((dt.date.fromisoformat(r["moved_in"]), moved_out))
    assert len(periods) > world.persons * 0.95
    for entity, spans in periods.items():
        spans.sort()
        for (start, end), (next_start, _) in pairwise(spans):
            assert start < end <= next_start, entity


def test_status_histories_are_ordered_and_end_in_the_reported_status(world: WorldSummary) -> None:
    history = defaultdict(list)
    for r in _read(world.file("statuses")):
        history[r["entity_id"]].append(r)
    for person in _read(world.file("persons")):
        periods = history[person["entity_id"]]
        assert periods, person["entity_id"]
        for current, following in pairwise(periods):
            assert current["since"] <= following["since"]
            assert current["until"] == following["since"]
        assert periods[-1]["until"] == ""
        assert periods[-1]["status"] == person["status"]


def test_the_world_holds_the_hard_cases(world: WorldSummary) -> None:
    persons = _read(world.file("persons"))
    by_id = {p["entity_id"]: p for p in persons}
    groups = Counter(p["group"] for p in persons)
    assert len(groups) == 8 and min(groups.values()) > 50
    twins = [p for p in persons if p["twin_of"]]
    assert twins and all(by_id[p["twin_of"]]["date_of_birth"] == p["date_of_birth"] for p in twins)
    juniors = [p for p in persons if p["suffix"] == "JR"]
    assert juniors
    vietnamese = [p for p in persons if p["group"] == "vietnamese"]
    assert sum(p["family_name"] == "Nguyễn" for p in vietnamese) / len(vietnamese) > 0.25
    hispanic = [p for p in persons if p["group"] == "hispanic"]
    assert sum(bool(p["second_family_name"]) for p in hispanic) / len(hispanic) > 0.8
    assert any(p["previous_family_name"] for p in persons)  # married in the window
    statuses = Counter(p["status"] for p in persons)
    for status in (
        "citizen_birth",
        "citizen_naturalised",
        "permanent_resident",
        "pending_asylum",
        "final_removal_order",
        "voluntary_departure_departed",
        "voluntary_departure_overdue",
    ):
        assert statuses[status] > 0, status


def test_a_verified_voluntary_departure_has_its_exit_record(world: WorldSummary) -> None:
    departed = {
        p["entity_id"]: p["departed_on"]
        for p in _read(world.file("persons"))
        if p["status"] == "voluntary_departure_departed"
    }
    truth = {
        r["source_key"]: r["entity_id"]
        for r in _read(world.truth_file)
        if r["source"] == "entry_exit"
    }
    exits = {
        (truth[r["event_id"]], r["event_date"])
        for r in _read(world.source_files["entry_exit"])
        if r["event_type"] == "EXIT"
    }
    assert departed
    assert all((entity, day) in exits for entity, day in departed.items())


def test_parquet_holds_the_same_rows_as_csv(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    as_csv = generate_world(150, seed=9, out_dir=tmp_path / "csv", workers=1)
    as_parquet = generate_world(
        150, seed=9, out_dir=tmp_path / "pq", workers=1, file_format="parquet"
    )
    assert as_csv.records_by_source == as_parquet.records_by_source
    table = pq.read_table(as_parquet.truth_file)
    assert table.num_rows == len(_read(as_csv.truth_file))
