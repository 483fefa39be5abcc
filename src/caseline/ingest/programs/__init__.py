"""Column programs: what each source adapter does to a row, done to a block of rows at once.

``program_for`` gives the program of an adapter, or None for an adapter that has none (one
written outside Caseline), which ingest then loads row by row.
"""

from __future__ import annotations

from collections.abc import Callable

from caseline.ingest.programs.builtin import BUILT_IN_PROGRAMS
from caseline.ingest.programs.mapped import mapped_program
from caseline.ingest.programs.records import ColumnRecords
from caseline.sources import SOURCES, SourceAdapter
from caseline.sources.mapped import MappedSource

ColumnProgram = Callable[[ColumnRecords], None]


def program_for(adapter: SourceAdapter) -> ColumnProgram | None:
    if isinstance(adapter, MappedSource):
        program: ColumnProgram = mapped_program(adapter)
        return program
    if SOURCES.get(adapter.name) is adapter or type(adapter) is type(SOURCES.get(adapter.name)):
        return BUILT_IN_PROGRAMS[adapter.name]
    return None


__all__ = ["ColumnProgram", "ColumnRecords", "program_for"]
