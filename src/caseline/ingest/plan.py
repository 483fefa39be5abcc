"""Which file is which source: the files a user names, paired with the adapter that reads them."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

import pyarrow.parquet as pq

from caseline.sources import SOURCES, SourceAdapter
from caseline.sources.mapped import MappedSource, load_mapping

SOURCE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet")


def plan_ingest(
    paths: list[Path], source: str | None = None, mapping: Path | None = None
) -> list[tuple[Path, str | SourceAdapter]]:
    """(file, source) pairs to load, in order.

    With a mapping every file is read through it. Otherwise a folder contributes its
    ``<source>.csv/.tsv/.jsonl/.parquet`` files, and a file is the source ``source`` names
    or, by default, the source its name (less the suffix) names.
    """
    if mapping is not None:
        adapter = MappedSource(load_mapping(mapping))
        return [(path, adapter) for path in paths]
    chosen: list[tuple[Path, str | SourceAdapter]] = []
    for path in paths:
        if path.is_dir():
            chosen += [
                (path / f"{name}{suffix}", name)
                for name in SOURCES
                for suffix in SOURCE_SUFFIXES
                if (path / f"{name}{suffix}").is_file()
            ]
        else:
            chosen.append((path, source or path.stem))
    return chosen


def estimate_rows(path: Path) -> int:
    """Data rows in a file, for a progress bar (ingest's progress counts data rows): lines
    of JSON Lines, lines less the header of CSV and TSV (a record spanning lines counts as
    more), the metadata of Parquet; 0 for a file that cannot be read (ingest says why)."""
    if not path.is_file():
        return 0
    if path.suffix.lower() == ".parquet":
        with suppress(OSError, ValueError):  # pyarrow's errors derive from these
            return int(pq.ParquetFile(path).metadata.num_rows)
        return 0
    with path.open("rb") as handle:
        lines = sum(1 for _ in handle)
    header = 0 if path.suffix.lower() in (".jsonl", ".ndjson") else 1
    return max(0, lines - header)
