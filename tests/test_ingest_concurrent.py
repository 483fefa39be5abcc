"""Two ingests of one source at once: the first loads, the second finds the file ingested
(or, for another file with the same record keys, skips them), and neither fails."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from sqlalchemy import func, select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import IngestRun, SourceRecord
from caseline.ingest import IngestSummary, ingest_file
from caseline.synth import WorldSummary
from tests.conftest import OPERATOR


def _at_once(
    database: Database, settings: Settings, paths: list[Path]
) -> list[IngestSummary | BaseException]:
    start = threading.Barrier(len(paths))
    outcomes: list[IngestSummary | BaseException] = [RuntimeError("not run")] * len(paths)

    def one(index: int) -> None:
        start.wait()
        try:
            with database.transaction() as session:
                outcomes[index] = ingest_file(
                    session, paths[index], "utility",
                    identifier_key=settings.identifier_key, actor=OPERATOR,
                )  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever escaped
            outcomes[index] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_the_same_file_twice_at_once_loads_once(
    database: Database, settings: Settings, small_world: WorldSummary
) -> None:
    path = small_world.out_dir / "utility.csv"
    outcomes = _at_once(database, settings, [path, path])
    summaries = [o for o in outcomes if isinstance(o, IngestSummary)]
    assert len(summaries) == 2, outcomes
    assert sorted(s.already_ingested for s in summaries) == [False, True]
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(IngestRun)) == 1
        loaded = session.scalar(select(func.count()).select_from(SourceRecord))
    assert loaded == next(s.loaded for s in summaries if not s.already_ingested)


def test_two_copies_of_a_file_at_once_load_each_record_once(
    database: Database, settings: Settings, small_world: WorldSummary, tmp_path: Path
) -> None:
    original = small_world.out_dir / "utility.csv"
    copy = tmp_path / "utility-again.csv"
    shutil.copyfile(original, copy)
    with copy.open("a") as handle:  # another sha256, the same record keys
        handle.write("\n")
    outcomes = _at_once(database, settings, [original, copy])
    assert all(isinstance(o, IngestSummary) for o in outcomes), outcomes
    with database.transaction() as session:
        keys = session.scalar(select(func.count(SourceRecord.source_key.distinct())))
        rows = session.scalar(select(func.count()).select_from(SourceRecord))
    assert rows == keys
