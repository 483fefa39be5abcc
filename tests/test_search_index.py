"""The name index search keeps in the process: its fingerprint changes with each thing that
changes persons or their words, and threads asking at once read it once and share it."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import ResolutionRun, RetentionFlag
from caseline.profiles import name_index
from caseline.profiles.name_index import NameIndex, NameIndexes, data_state


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_the_data_state_changes_with_a_run_its_end_and_a_purge(database: Database) -> None:
    def state() -> tuple[object, ...]:
        with database.transaction() as session:
            return data_state(session)

    seen = [state()]
    with database.transaction() as session:
        run = ResolutionRun(engine="duckdb", model_path="m.json", threshold=0.9)
        session.add(run)
    seen.append(state())
    with database.transaction() as session:
        session.get_one(ResolutionRun, run.id).finished_at = dt.datetime.now(dt.UTC)
    seen.append(state())
    with database.transaction() as session:
        session.add(
            RetentionFlag(run_id="r1", applied_by="admin", as_of=dt.date(2026, 1, 1),
                          person_id="P1", records_lost=1, records_left=0, sources={})
        )  # fmt: skip
    seen.append(state())
    assert len(set(seen)) == len(seen)
    assert state() == seen[-1]  # and stays while nothing changes


def test_threads_asking_at_once_read_the_index_once_and_share_it(
    resolved: tuple[Settings, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, database = resolved
    reads: list[int] = []
    started = threading.Barrier(4)
    read = NameIndex.read

    def counted(session: object) -> NameIndex:
        reads.append(1)
        return read(session)  # type: ignore[arg-type]

    monkeypatch.setattr(name_index.NameIndex, "read", staticmethod(counted))
    indexes = NameIndexes()

    def get() -> NameIndex:
        started.wait(10)
        with database.reading() as session:
            return indexes.get(session)

    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda _: get(), range(4)))
    assert len(reads) == 1 and all(index is found[0] for index in found)
    assert len(found[0].person_ids) > 0
