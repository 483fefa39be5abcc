"""The embedded engine, and the default: DuckDB in this process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
from splink import DuckDBAPI, Linker

from caseline.resolve.engine.base import Engine

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame

    from caseline.resolve.engine.kept_records import KeptRecords


class DuckDBEngine(Engine):
    """DuckDB, embedded: each linker on a database of its own, in memory. A batch of new
    records is scored in place, in the kept records' own DuckDB."""

    name = "duckdb"

    def _register_records(self, records: pd.DataFrame) -> SplinkDataFrame:
        return DuckDBAPI().register(_as_arrow(records), dataset_display_name="records")

    def prepare_for_batches(self, kept: KeptRecords, settings: dict[str, Any]) -> None:
        kept.linker_in_place(settings)  # built once, for every batch

    def linker_for_batch(self, kept: KeptRecords, settings: dict[str, Any]) -> Linker:
        return kept.linker_in_place(settings)


def _as_arrow(records: pd.DataFrame) -> pa.Table:
    """The records in Arrow, which DuckDB reads in place: a frame's columns of Python
    objects are converted on every scan, and blocking scans the input twice per rule. A
    column that holds no value is typed as text, as it would be if it held one."""
    table = pa.Table.from_pandas(records, preserve_index=False)
    fields = [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
    return table.cast(pa.schema(fields))
