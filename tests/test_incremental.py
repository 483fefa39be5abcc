from pathlib import Path

import pytest
from sqlalchemy import func, select

from caseline.config import Settings, load_settings
from caseline.db import Database, upgrade_to_head
from caseline.db.models import IngestRun, Person, PersonRecord, ResolutionRun, SourceRecord
from caseline.errors import StateError
from caseline.ingest import ingest_file
from caseline.resolve import resolve_incrementally, resolve_persons
from caseline.resolve.clusters import current_memberships
from caseline.resolve.evaluation import TruthRecord, score_assignments
from caseline.resolve.incremental import _unplaced
from caseline.synth import WorldSummary
from tests.conftest import OPERATOR

HELD_BACK = ("court", "immigration_status")  # arrive after the first full run


def _ingest(
    database: Database, settings: Settings, world: WorldSummary, sources: list[str]
) -> None:
    for source in sources:
        with database.transaction() as session:
            ingest_file(
                session,
                world.source_files[source],
                source,
                identifier_key=settings.identifier_key,
                actor=OPERATOR,
            )


def _memberships(database: Database) -> dict[str, str]:
    with database.transaction() as session:
        return current_memberships(session)


def test_incremental_and_full_runs_agree(
    database: Database,
    settings: Settings,
    small_world: WorldSummary,
    small_world_model: Path,
    tmp_path: Path,
) -> None:
    first = [s for s in small_world.source_files if s not in HELD_BACK]
    _ingest(database, settings, small_world, first)
    full = resolve_persons(
        database,
        models_dir=settings.models_dir,
        threshold=0.95,
        model_path=small_world_model,  # trained once for the session, not again here
        actor=OPERATOR,
    )
    _ingest(database, settings, small_world, list(HELD_BACK))
    summary = resolve_incrementally(
        database, models_dir=settings.models_dir, threshold=0.95, actor=OPERATOR
    )
    with database.transaction() as session:
        records = session.scalar(select(func.count()).select_from(SourceRecord))
        members = session.scalar(select(func.count()).select_from(PersonRecord))
        counted = session.scalar(select(func.sum(Person.record_count)))
    assert summary.new_records > 100
    assert summary.joined_existing > summary.new_records / 2  # most belong to known persons
    assert records == members == counted  # every record placed once, counts kept right
    incremental = _memberships(database)

    # The same records in one full run with the same model: the reference.
    home = tmp_path / "full"
    url = f"sqlite:///{home}/caseline.db"
    home.mkdir()
    upgrade_to_head(url)
    reference_settings = load_settings(home=home, database_url=url)
    reference_db = Database(url)
    _ingest(reference_db, reference_settings, small_world, list(small_world.source_files))
    resolve_persons(
        reference_db,
        models_dir=reference_settings.models_dir,
        threshold=0.95,
        model_path=full.model_path,
        actor=OPERATOR,
    )
    reference = _memberships(reference_db)
    reference_db.dispose()

    as_truth = [TruthRecord(r, person, None) for r, person in reference.items()]
    agreement = score_assignments(as_truth, incremental)
    assert agreement.bcubed_f1 >= 0.99, agreement.as_dict()


def test_incremental_needs_a_full_run_first(database: Database, settings: Settings) -> None:
    with pytest.raises(StateError, match="caseline resolve"):
        resolve_incrementally(
            database, models_dir=settings.models_dir, threshold=0.95, actor=OPERATOR
        )


def test_nothing_new_changes_nothing(mutable_resolved: tuple[Settings, Database]) -> None:
    settings, database = mutable_resolved
    before = _memberships(database)
    summary = resolve_incrementally(
        database, models_dir=settings.models_dir, threshold=0.95, actor=OPERATOR
    )
    assert summary.new_records == 0
    assert _memberships(database) == before


def _store_records(database: Database, placed: dict[str, bool], ingests: int) -> None:
    """Records r0, r1, ... spread over ``ingests`` ingest runs in turn; those ``placed``
    belong to one person."""
    with database.transaction() as session:
        runs = [
            IngestRun(source="tax", file_name=f"f{i}.csv", file_sha256=f"{i:064d}")
            for i in range(ingests)
        ]
        run = ResolutionRun(engine="duckdb", model_path="m.json", threshold=0.95)
        session.add_all([*runs, run])
        session.flush()
        session.add(
            Person(person_id="P1", resolution_run_id=run.id, record_count=0, display_name="A")
        )
        for i, record_id in enumerate(placed):
            session.add(
                SourceRecord(
                    record_id=record_id,
                    source="tax",
                    source_key=record_id,
                    ingest_run_id=runs[i % ingests].id,
                    line_number=i,
                    extra={},
                )
            )
        session.flush()
        session.add_all(
            PersonRecord(record_id=r, person_id="P1")
            for r, is_placed in placed.items()
            if is_placed
        )


@pytest.mark.parametrize("unplaced", [[], ["r39"], ["r0", "r39"], ["r0", "r20", "r39"]])
def test_records_in_no_person_are_found_whichever_ingest_brought_them(
    database: Database, unplaced: list[str]
) -> None:
    # 40 records over 20 ingests: r39 came with the latest, r0 with the first.
    _store_records(database, {f"r{i}": f"r{i}" not in unplaced for i in range(40)}, ingests=20)
    with database.transaction() as session:
        assert sorted(_unplaced(session)) == unplaced
