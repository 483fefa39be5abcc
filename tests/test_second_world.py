"""The second world (benchmarks/second_world): the world's people in a registry's own habits,
loadable through the documented mapped-source path, with truth every reader accepts."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter
from pathlib import Path

import pytest
from benchmarks.second_world import ADDRESS_VARIANTS, KINDS, SOURCE, SecondWorld, write_second_world
from sqlalchemy import func, select

from caseline.cases.ground_truth import read_ground_truth
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import QuarantinedRow, RecordValueIssue, SourceRecord
from caseline.ingest import ingest_file
from caseline.profiles.address_evaluation import read_current_addresses
from caseline.resolve.evaluation import read_truth
from caseline.sources import record_id_for
from caseline.sources.mapped import MappedSource, load_mapping
from caseline.synth import WorldSummary
from tests.conftest import OPERATOR

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
# What a planted slip looks like in the row, where it can be seen without the truth.
UNIT_GLUED = re.compile(r"\bAPT\d")
UNIT_BROKEN = re.compile(r"\bAP T\d")


@pytest.fixture(scope="module")
def second(small_world: WorldSummary, tmp_path_factory: pytest.TempPathFactory) -> SecondWorld:
    return write_second_world(small_world.out_dir, tmp_path_factory.mktemp("second"), seed=3)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_same_seed_writes_the_same_files_and_another_seed_others(
    small_world: WorldSummary, second: SecondWorld, tmp_path: Path
) -> None:
    again = write_second_world(small_world.out_dir, tmp_path / "again", seed=3)
    other = write_second_world(small_world.out_dir, tmp_path / "other", seed=4)
    for name in ("registry.csv", "registry.yaml", "truth.csv", "persons.csv"):
        assert (again.out_dir / name).read_bytes() == (second.out_dir / name).read_bytes()
    assert other.registry.read_bytes() != second.registry.read_bytes()


def test_it_renders_the_same_people_and_their_current_addresses(
    small_world: WorldSummary, second: SecondWorld
) -> None:
    world_persons = {r["entity_id"]: r for r in _rows(small_world.out_dir / "persons.csv")}
    persons = _rows(second.truth_persons)
    assert {r["entity_id"] for r in persons} == set(world_persons)
    for row in persons:
        world = world_persons[row["entity_id"]]
        assert (row["status"], row["current_address"]) == (
            world["status"],
            world["current_address"],
        )
    recorded = {r["entity_id"] for r in _rows(second.truth)}
    in_world = {r["entity_id"] for r in _rows(small_world.out_dir / "truth.csv")}
    assert recorded <= set(world_persons)
    assert len(recorded) > 0.9 * len(in_world)  # children under 16 are on no record of either


def test_its_habits_are_not_the_generators(small_world: WorldSummary, second: SecondWorld) -> None:
    rows = _rows(second.registry)
    header = list(rows[0])
    assert "kind" in header
    assert set(header).isdisjoint(
        column for path in small_world.source_files.values() for column in _rows(path)[0]
    )
    assert Counter(r["kind"] for r in rows).keys() == set(KINDS)
    assert not any(ISO_DATE.search(value) for row in rows for value in row.values())
    assert all(", " in r["person_name"] and r["person_name"].split(",")[0].isupper() for r in rows)
    homes = [r["home"] for r in rows if r["home"]]
    assert all("\n" not in home and home.count(",") >= 1 for home in homes)
    thin = [r for r in rows if r["kind"] == "account"]
    assert thin
    assert all(r["home"] and r["opened"] for r in thin)
    assert not any(
        r[c] for r in thin for c in ("born", "dl_no", "tax_no", "alien_no", "travel_doc")
    )


def test_every_address_slip_is_planted_and_shows_in_the_row(second: SecondWorld) -> None:
    truth = {r["source_key"]: r for r in _rows(second.truth)}
    rows = _rows(second.registry)
    with_address = [r for r in rows if r["home"]]
    slips = Counter(
        slip for r in with_address for slip in truth[r["ref"]]["slips"].split(";") if slip
    )
    for variant in ADDRESS_VARIANTS:
        assert 0 < slips[variant] < 0.2 * len(with_address), variant
    for row in with_address:
        planted = truth[row["ref"]]["slips"].split(";")
        assert ("unit_glued" in planted) == bool(UNIT_GLUED.search(row["home"]))
        assert ("unit_broken" in planted) == bool(UNIT_BROKEN.search(row["home"]))
        assert ("zip_missing" in planted) == (re.search(r"\d{5}$", row["home"]) is None)


def test_the_truth_files_are_read_by_caselines_readers(second: SecondWorld) -> None:
    records = read_truth(second.truth)
    assert len(records) == second.records
    assert {t.group for t in records} <= {r["group"] for r in _rows(second.truth_persons)}
    truth = read_ground_truth(second.truth, second.truth_persons)
    assert set(truth.entity_of.values()) <= set(truth.persons)
    current, unreadable = read_current_addresses(second.truth_persons)
    assert unreadable == []
    assert current.keys() == truth.persons.keys()


def test_it_ingests_through_its_mapping_leaving_out_only_the_values_it_spoiled(
    second: SecondWorld, database: Database, settings: Settings
) -> None:
    adapter = MappedSource(load_mapping(second.mapping))
    with database.transaction() as session:
        summary = ingest_file(
            session, second.registry, adapter, identifier_key=settings.identifier_key,
            actor=OPERATOR,
        )  # fmt: skip
    assert (summary.loaded, summary.quarantined) == (second.records, 0)
    truth = {record_id_for(r["source"], r["source_key"]): r for r in _rows(second.truth)}
    with database.transaction() as session:
        stored = set(session.scalars(select(SourceRecord.record_id)))
        assert session.scalar(select(func.count()).select_from(QuarantinedRow)) == 0
        issues = session.execute(select(RecordValueIssue.record_id, RecordValueIssue.field)).all()
        dated = session.scalar(select(func.count()).where(SourceRecord.observed_on.is_not(None)))
        born = session.scalar(select(func.count()).where(SourceRecord.date_of_birth.is_not(None)))
    assert stored == set(truth)
    assert {r["source"] for r in truth.values()} == {SOURCE}
    assert dated == second.records
    assert born == sum(1 for r in _rows(second.registry) if r["born"])
    for record_id, field in issues:
        assert field == "tax_no"
        assert {"tax_no_spaced", "tax_no_slip"} & set(truth[record_id]["slips"].split(";"))


def test_service_accounts_carry_their_dates_and_closing(second: SecondWorld) -> None:
    for row in _rows(second.registry):
        if row["kind"] != "account":
            continue
        opened = dt.datetime.strptime(row["opened"], "%d-%b-%Y").date()
        assert dt.datetime.strptime(row["recorded"], "%d.%m.%Y").date() == opened
        if row["closed"]:
            assert dt.datetime.strptime(row["closed"], "%d-%b-%Y").date() >= opened
