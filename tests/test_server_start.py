"""A served worker reads what search keeps before its first request, so the first search
does not wait seconds for it."""

from __future__ import annotations

import gc

import pytest

from caseline.config import Settings
from caseline.db import Database
from caseline.profiles.name_index import NAME_INDEXES, NameIndex
from caseline.server import app_from_environment


def test_a_worker_reads_the_search_index_as_it_starts(
    resolved: tuple[Settings, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = resolved
    monkeypatch.setenv("CASELINE_HOME", str(settings.home))
    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url)
    try:
        app = app_from_environment()
    finally:
        gc.unfreeze()

    def not_again(*_args: object) -> NameIndex:
        raise AssertionError("the index was read again: the worker had not read it")

    monkeypatch.setattr(NameIndex, "read", not_again)
    with app.state.database.reading() as session:
        index = NAME_INDEXES.get(session)
    assert index is not None
    app.state.database.dispose()
