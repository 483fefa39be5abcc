"""The records the last full run kept, and the batches of new records placed against them."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from splink import DuckDBAPI, Linker

from caseline.resolve.engine.dialect import MODEL_DIALECT, in_dialect
from caseline.resolve.engine.pairs import NEW_COLUMN, blocked_pairs_sql
from caseline.resolve.engine.sorted_hashes import SortedHashes
from caseline.resolve.frequencies import share_sql

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame

    from caseline.resolve.engine.base import Engine

JoinKeys = list[tuple[tuple[str, ...], tuple[str, ...]]]
_ALL_AT_ONCE = 2**31 - 1  # rows in one Arrow batch
_MOST_PARTS = 32  # placed batches held apart before they are merged into one part
_PREDICTIONS = "batch_predictions"


class KeptRecords:
    """The records a full run kept (Parquet in ``folder``) and the term-frequency counts
    over them: what placing a batch needs, read once.

    A long-lived process keeps one open between batches (``add`` appends each placed batch).
    ``select`` holds a batch: its new records and the kept records that some blocking rule's
    join key pairs with one of them. Each rule's key is hashed once per kept record and held
    sorted, so a batch finds its candidates by binary search and takes only their rows from
    the records (Arrow, in memory). ``scored`` scores the batch on an engine: in this
    DuckDB, in place (`linker_in_place`), or handed to another engine as a frame.
    """

    def __init__(
        self,
        folder: Path,
        join_keys: JoinKeys,
        frequency_columns: list[str],
        scales: Mapping[str, float] | None = None,
    ) -> None:
        self._join_keys = join_keys
        self._frequency_columns = frequency_columns
        self._scales = scales or {}  # the model's frequency scales (see frequencies)
        self._con = duckdb.connect()
        pattern = str(folder / "*.parquet").replace("'", "''")
        kept = self._con.sql(f"SELECT * FROM read_parquet('{pattern}')")  # noqa: S608
        # One batch: the records are taken from by position, which chunks would slow down.
        records = kept.to_arrow_table(batch_size=_ALL_AT_ONCE)
        self._schema = records.schema
        self._parts: list[pa.Table] = []  # the records, each placed batch appended as a part
        self._starts: list[int] = []  # the position of each part's first record
        self._ids = SortedHashes()
        self._keys = [SortedHashes() for _ in join_keys]
        self._totals = dict.fromkeys(frequency_columns, 0)
        self._scorer: _Scorer | None = None
        self._append(records)
        self._hold(self._schema.empty_table())  # so that the batch's tables always exist

    def __enter__(self) -> KeptRecords:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._scorer = None
        self._parts.clear()
        self._con.close()

    def select(self, new: pd.DataFrame) -> int:
        """Hold the batch of ``new`` records with the kept records that some join key pairs
        with one of them (left columns of the kept record equal to right columns of the new
        one), and each frequency column's term frequencies over kept and new records together
        (for the values the batch holds). Returns the number of kept records held."""
        arrivals = pa.Table.from_pandas(
            new[self._schema.names], schema=self._schema, preserve_index=False
        )
        return self._hold(arrivals)

    def _hold(self, arrivals: pa.Table) -> int:
        """Hold ``arrivals`` (with the kept records' schema) as the batch (see ``select``)."""
        probes = self._key_hashes(arrivals, [right for _left, right in self._join_keys])
        met = [index.find(hashes) for index, (_at, hashes) in zip(self._keys, probes, strict=True)]
        held = self._held(arrivals.column("unique_id"), self._id_hashes(arrivals))
        # A hash collision only adds a candidate, which the model then scores.
        candidates = self._take(np.setdiff1d(np.concatenate(met), held))
        batch = pa.concat_tables([_flagged(candidates, 0), _flagged(arrivals, 1)])
        fresh = _without(arrivals, self._take(held).column("unique_id"))
        con = self._con
        con.register("batch", batch)  # read where it is, in place of the last batch
        con.register("fresh", fresh)
        try:
            for column in self._frequency_columns:
                con.sql(f'CREATE OR REPLACE TABLE "tf_{column}" AS {self._frequencies_sql(column)}')
        finally:
            con.unregister("fresh")
        return int(candidates.num_rows)

    def _frequencies_sql(self, column: str) -> str:
        # The kept counts of the values the batch holds, plus the new records not kept yet
        # (``fresh``), over the total of both (the kept total is held, not summed again).
        return (
            f'WITH fresh_counts AS (SELECT "{column}" AS value, count(*) AS n FROM fresh '  # noqa: S608
            f'WHERE "{column}" IS NOT NULL GROUP BY 1), '
            f'wanted AS (SELECT DISTINCT "{column}" AS value FROM batch), '
            f'counts AS (SELECT value, sum(n) AS n FROM (SELECT * FROM "counts_{column}" '
            "WHERE value IN (SELECT value FROM wanted) UNION ALL SELECT * FROM fresh_counts) "
            "GROUP BY 1) "
            f'SELECT value AS "{column}", {self._share_sql(column)} AS "tf_{column}" FROM counts'
        )

    def _share_sql(self, column: str) -> str:
        # Only a held integer is interpolated.
        total = f"{self._totals[column]} + (SELECT coalesce(sum(n), 0) FROM fresh_counts)"  # noqa: S608
        return share_sql("n", total, self._scales.get(column, 1.0))

    def batch_frame(self) -> pd.DataFrame:
        """The held batch (kept, then new records; ``NEW_COLUMN`` tells which) as a frame
        shaped as the model's frames are: list columns in Arrow, so that an engine types
        them even where no record of the batch holds one, the rest as Python objects with
        missing values as None."""
        table = self._con.sql("SELECT * FROM batch").to_arrow_table()
        columns: dict[str, Any] = {}
        for name, column in zip(table.column_names, table.columns, strict=True):
            if _is_list(column.type):
                listed = column.cast(pa.large_list(column.type.value_type)).combine_chunks()
                columns[name] = pd.arrays.ArrowExtensionArray(listed)
            else:
                values = column.to_pandas()
                columns[name] = values.astype(object).where(values.notna(), None)
        return pd.DataFrame(columns)

    def dated(self) -> pd.Series:
        """Whether each record of the held batch has a date of birth, by record id."""
        held = self._con.sql("SELECT unique_id, date_of_birth IS NOT NULL AS dated FROM batch").df()
        return pd.Series(held["dated"].to_numpy(bool), index=held["unique_id"])

    def frequencies(self) -> dict[str, pd.DataFrame]:
        """The held batch's term frequencies, per frequency column."""
        return {c: self._con.sql(f'SELECT * FROM "tf_{c}"').df() for c in self._frequency_columns}  # noqa: S608

    def prepare(self, settings: dict[str, Any], engine: Engine) -> None:
        """Build what scoring a batch with the model's Splink ``settings`` on ``engine``
        needs now rather than for the first batch."""
        engine.prepare_for_batches(self, settings)

    @contextmanager
    def scored(
        self, settings: dict[str, Any], engine: Engine
    ) -> Iterator[tuple[Linker, SplinkDataFrame]]:
        """A linker over the held batch on ``engine`` and its predictions: the pairs with a
        new record in them that a blocking rule of the model's Splink ``settings`` makes
        (the kept records were compared with one another by the full run). Predictions are
        dropped on leaving."""
        linker = engine.linker_for_batch(self, settings)
        scorer = self._scorer
        if scorer is not None and scorer.scores_with(linker):
            predictions = scorer.predict(self._con)
        else:
            predictions = linker.inference.predict()
        try:
            yield linker, predictions
        finally:
            predictions.drop_table_from_database_and_remove_from_cache()

    def linker_in_place(self, settings: dict[str, Any]) -> Linker:
        """The model's linker over the batch on this DuckDB, built once: each batch replaces
        the tables it reads (records, term frequencies, pairs), so only the pairs are made
        here, from the model's own rules."""
        if self._scorer is None or self._scorer.settings is not settings:
            self._scorer = _Scorer(settings)
        self._con.sql(f"CREATE OR REPLACE TABLE batch_pairs AS {self._scorer.pairs_sql}")
        return self._scorer.linker(self._con, self._frequency_columns)

    def add(self, placed: pa.Table) -> None:
        """Hold a placed batch (an Arrow table with the kept records' columns), counting its
        values; records held already are skipped."""
        placed = placed.select(self._schema.names).cast(self._schema)
        ids = placed.column("unique_id")
        held = self._held(ids, self._id_hashes(placed))
        fresh = _without(placed, self._take(held).column("unique_id"))
        if fresh.num_rows:
            self._append(fresh)

    def _append(self, records: pa.Table) -> None:
        """Hold ``records`` (none held yet): their rows, their hashed keys, their counts."""
        records = records.combine_chunks()
        start = self._starts[-1] + self._parts[-1].num_rows if self._parts else 0
        hashed = self._key_hashes(records, [left for left, _right in self._join_keys])
        self._con.register("appended", records)
        try:
            for column in self._frequency_columns:
                counted = (
                    f'SELECT "{column}" AS value, count(*) AS n FROM appended '  # noqa: S608
                    f'WHERE "{column}" IS NOT NULL GROUP BY 1'
                )
                self._con.sql(f'CREATE TABLE IF NOT EXISTS "counts_{column}" AS {counted} LIMIT 0')
                self._con.sql(f'INSERT INTO "counts_{column}" {counted}')
                self._totals[column] += records.num_rows - records.column(column).null_count
        finally:
            self._con.unregister("appended")
        self._ids.insert(self._id_hashes(records), np.arange(records.num_rows) + start)
        for index, (at, hashes) in zip(self._keys, hashed, strict=True):
            index.insert(hashes, at + start)
        self._parts.append(records)
        self._starts.append(start)
        if len(self._parts) > _MOST_PARTS:  # so that taking rows stays a few steps
            placed = pa.concat_tables(self._parts[1:]).combine_chunks()
            self._parts, self._starts = [self._parts[0], placed], self._starts[:2]

    def _id_hashes(self, records: pa.Table) -> np.ndarray:
        """The hash of each record's id."""
        self._con.register("hashed", records)
        try:
            ids = self._con.sql("SELECT hash(unique_id) FROM hashed").to_arrow_table()
        finally:
            self._con.unregister("hashed")
        hashes: np.ndarray = ids.column(0).to_numpy()
        return hashes

    def _key_hashes(
        self, records: pa.Table, keys: list[tuple[str, ...]]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each key (columns of ``records``): the positions of the records that fill it
        and the key's hashes, one per element of a list column (a record meets on any)."""
        numbered = records.append_column("caseline_at", pa.array(np.arange(records.num_rows)))
        self._con.register("hashed", numbered)
        try:
            out = []
            for columns in keys:
                listed = {c for c in columns if _is_list(self._schema.field(c).type)}
                rows = ", ".join(
                    f'unnest("{c}") AS "{c}"' if c in listed else f'"{c}"' for c in columns
                )
                # Only column names of the records' own schema are interpolated.
                sql = (
                    f"SELECT caseline_at, {_key_hash(columns)} AS h "  # noqa: S608
                    f"FROM (SELECT caseline_at, {rows} FROM hashed) WHERE h IS NOT NULL"
                )
                hashed = self._con.sql(sql).to_arrow_table()
                out.append((hashed.column(0).to_numpy(), hashed.column(1).to_numpy()))
            return out
        finally:
            self._con.unregister("hashed")

    def _held(self, ids: pa.ChunkedArray, hashed_ids: np.ndarray) -> np.ndarray:
        """The positions of the held records whose id is among ``ids``."""
        positions = np.sort(self._ids.find(hashed_ids))
        found = self._take(positions).column("unique_id")
        among = pc.is_in(found, value_set=ids.combine_chunks()).to_numpy()
        held: np.ndarray = positions[among]
        return held

    def _take(self, positions: np.ndarray) -> pa.Table:
        """The held records at ``positions`` (ascending), in that order."""
        cuts = np.searchsorted(positions, self._starts[1:])
        pieces = [
            part.take(pa.array(chunk - start))
            for part, start, chunk in zip(
                self._parts, self._starts, np.split(positions, cuts), strict=True
            )
            if len(chunk)
        ]
        return pa.concat_tables(pieces) if pieces else self._schema.empty_table()


class _Scorer:
    """A model's linker over the batch tables of a DuckDB connection, the SQL that makes the
    batch's pairs from the model's blocking rules, and the SQL that scores them.

    Splink writes its scoring SQL anew on every ``predict`` (parsing the model's comparisons
    took a third of a second a batch); the SQL reads only the batch's tables by their fixed
    names (records, term frequencies, pairs), so it is written once, when the linker is
    built, and each batch runs it (`predict`).
    """

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self._settings = in_dialect(settings, MODEL_DIALECT)
        rules = self._settings["blocking_rules_to_generate_predictions"]
        self.pairs_sql = blocked_pairs_sql(rules, "batch", new_only=True)
        self._linker: Linker | None = None
        self._predict_sql = ""
        self._db_api: DuckDBAPI | None = None

    def scores_with(self, linker: Linker) -> bool:
        return linker is self._linker and bool(self._predict_sql)

    def predict(self, con: duckdb.DuckDBPyConnection) -> SplinkDataFrame:
        """The batch's pairs scored, as Splink's ``predict`` scores them, by its own SQL."""
        assert self._db_api is not None
        con.sql(f"CREATE OR REPLACE TABLE {_PREDICTIONS} AS {self._predict_sql}")
        predictions = self._db_api.table_to_splink_dataframe(_PREDICTIONS, _PREDICTIONS)
        predictions.created_by_splink = True  # so that it is dropped as Splink's own are
        return predictions

    def linker(self, con: duckdb.DuckDBPyConnection, frequency_columns: list[str]) -> Linker:
        """The linker, built on first use (the batch tables it reads exist by then)."""
        if self._linker is None:
            db_api = DuckDBAPI(connection=con)
            self._linker = Linker(
                db_api.register("batch"),
                self._settings,
                log_level=logging.ERROR,
                validate_settings=False,  # validated when trained; Splink's check is slow
            )
            tables = self._linker.table_management
            for column in frequency_columns:
                tables.register_term_frequency_lookup(db_api.register(f"tf_{column}"), column)
            pairs = tables.register_blocked_pairs_for_predict(db_api.register("batch_pairs"))
            # Splink would first copy out each side's records of a registered table of pairs
            # (for inputs far larger than a batch); unmarked, it scores them in place.
            pairs.metadata["registered_for_predict"] = False
            written = self._linker.inference.predict()  # over whatever batch is held now
            self._predict_sql = written.sql_used_to_create or ""
            written.drop_table_from_database_and_remove_from_cache()
            self._linker._intermediate_table_cache.reset_executed_queries_tracker()
            self._db_api = db_api
        return self._linker


def _flagged(records: pa.Table, new: int) -> pa.Table:
    return records.append_column(NEW_COLUMN, pa.array(np.full(records.num_rows, new)))


def _without(records: pa.Table, ids: pa.ChunkedArray) -> pa.Table:
    """``records`` but those whose id is among ``ids``."""
    return records.filter(
        pc.invert(pc.is_in(records.column("unique_id"), value_set=ids.combine_chunks()))
    )


def _is_list(column_type: pa.DataType) -> bool:
    return bool(pa.types.is_list(column_type) or pa.types.is_large_list(column_type))


def _key_hash(columns: tuple[str, ...]) -> str:
    """SQL for the hash of ``columns``, NULL unless every one is filled (as a join needs)."""
    filled = " AND ".join(f'"{c}" IS NOT NULL' for c in columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    return f"CASE WHEN {filled} THEN hash({quoted}) END"
