"""The only module that knows which SQL engine runs the model: DuckDB (embedded) or Spark.

Spark runs in local mode inside this process: one session, started on first use and
stopped when the interpreter exits, bound to the loopback interface with its web UI off.
pyspark is imported only then, so importing Caseline stays fast.

A model's SQL is written in one dialect: DuckDB's, unless the model names another (a model
trained on Spark and saved says "spark"). Before it runs on the other engine its SQL is
translated: identifiers quoted that engine's way, and similarity functions renamed between
DuckDB's built-ins and Spark's UDFs. On Spark those UDFs are Caseline's own (jellyfish), not
the ones in Splink's JAR, which score some names differently from DuckDB.
"""

from __future__ import annotations

import atexit
import copy
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from splink import DuckDBAPI, Linker, SettingsCreator
from sqlglot import exp

from caseline.errors import InputError
from caseline.resolve.frequencies import share_sql

ENGINES = ("duckdb", "spark")  # each named as its SQL dialect is
# The pairs a new linker scores: its blocking rules' pairs, every pair of its records, none.
PairsToScore = Literal["blocked", "every", "none"]
MODEL_DIALECT = "duckdb"  # the dialect of a model that does not name one

# Local Spark sized for a workstation: its cores, a few GiB, a handful of shuffle partitions.
SPARK_CONFIG = {
    "spark.master": "local[*]",
    "spark.app.name": "caseline-resolve",
    "spark.driver.memory": "3g",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}

# Spark's name for a string similarity -> the function that computes it as DuckDB does.
SPARK_SIMILARITIES: dict[str, Callable[[str, str], float]] = {
    "jaro_winkler": jellyfish.jaro_winkler_similarity,
    "jaro_sim": jellyfish.jaro_similarity,
    "damerau_levenshtein": jellyfish.damerau_levenshtein_distance,
}

_spark_lock = threading.Lock()
_spark: Any = None  # the SparkSession, once started


def create_linker(
    records: pd.DataFrame,
    settings: SettingsCreator | dict[str, Any],
    engine: str,
    *,
    validate: bool = True,
    pairs: PairsToScore = "blocked",
) -> Any:
    """A Splink linker over ``records`` on the chosen engine (``validate``: Splink checks
    the settings' SQL first, about a second for Caseline's model; ``pairs``: the pairs it
    scores next, made and registered now: those the settings' blocking rules make, every
    pair of the records (a random sample's, for u), or none)."""
    if engine not in ENGINES:
        raise InputError(
            f"unknown engine {engine!r}; available: {', '.join(ENGINES)}", where="--engine"
        )
    if engine == "spark":
        db_api, table = _spark_api_and_table(records)
        name = f"records_{uuid.uuid4().hex[:12]}"  # the session outlives each linker
    else:
        db_api, table, name = DuckDBAPI(), _as_arrow(records), "records"
    rules: list[dict[str, Any]] = []
    if isinstance(settings, dict):
        rules = _in_dialect(settings, "duckdb").get("blocking_rules_to_generate_predictions", [])
        settings = _in_dialect(settings, engine)
    frame = db_api.register(table, dataset_display_name=name)
    linker = Linker(frame, settings, log_level=logging.ERROR, validate_settings=validate)
    if pairs == "every":
        _register_pairs(linker, _every_pair_sql(frame.physical_name), engine)
    elif rules and pairs == "blocked":
        _register_blocked_pairs(linker, frame.physical_name, rules, engine)
    return linker


def _every_pair_sql(table: str) -> str:
    # Only Splink's own table name is interpolated.
    return (
        "SELECT '0' AS match_key, l.unique_id AS join_key_l, r.unique_id AS join_key_r "  # noqa: S608
        f"FROM {table} AS l JOIN {table} AS r ON l.unique_id < r.unique_id"
    )


def _register_blocked_pairs(
    linker: Any, table: str, rules: list[dict[str, Any]], engine: str
) -> None:
    """Make the pairs the rules block and hand them to the linker to score. Splink keeps a
    pair that two list rules make twice (it cannot tell that an earlier list rule made it)
    and carries every blocking column through each list's rows; this joins only the
    columns each rule reads and keeps each pair once."""
    _register_pairs(linker, blocked_pairs_sql(rules, table), engine)


def _register_pairs(linker: Any, sql: str, engine: str) -> None:
    """Make the pairs ``sql`` (DuckDB's dialect) selects from the linker's input, as
    Splink's table of blocked pairs, and hand them to the linker to score next."""
    if engine != "duckdb":
        sql = _translate(sql, "duckdb", engine)
    pairs = linker.misc.query_sql(sql, output_type="splink_df")
    registered = linker.table_management.register_blocked_pairs_for_predict(pairs)
    # Marked as registered, Splink's DuckDB path first copies out each side's records of
    # every pair (for pairs made elsewhere, over inputs far larger than memory); these
    # were made from the linker's own input, which it scores in place, as its own blocking.
    registered.metadata["registered_for_predict"] = False


def score_unscored_within(
    linker: Any, predictions: Any, groups: pd.DataFrame, engine: str
) -> pd.DataFrame:
    """(left, right, weight) for each pair of records in one group (``groups``: columns
    unique_id and group) that the linker's ``predictions`` lack, scored by that linker: the
    same model and the same term frequencies as the pairs it scored before."""
    # Splink registers a table only through its database API, which it keeps private.
    members = linker._db_api.register(groups).physical_name
    # Only table names Splink made are interpolated.
    _register_pairs(
        linker,
        "SELECT '0' AS match_key, a.unique_id AS join_key_l, b.unique_id AS join_key_r "  # noqa: S608
        f"FROM {members} AS a JOIN {members} AS b "
        'ON a."group" = b."group" AND a.unique_id < b.unique_id '
        f"LEFT JOIN {predictions.physical_name} AS p "
        "ON p.unique_id_l = a.unique_id AND p.unique_id_r = b.unique_id "
        "WHERE p.unique_id_l IS NULL",
        engine,
    )
    scored = linker.inference.predict()
    pairs: pd.DataFrame = linker.misc.query_sql(
        "SELECT unique_id_l AS left, unique_id_r AS right, match_weight AS weight "  # noqa: S608
        f"FROM {scored.physical_name}",
        output_type="pandas",
    )
    return pairs.astype({"left": np.int64, "right": np.int64, "weight": float})


def _as_arrow(records: pd.DataFrame) -> pa.Table:
    """The records in Arrow, which DuckDB reads in place: a frame's columns of Python
    objects are converted on every scan, and blocking scans the input twice per rule. A
    column that holds no value is typed as text, as it would be if it held one."""
    table = pa.Table.from_pandas(records, preserve_index=False)
    fields = [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
    return table.cast(pa.schema(fields))


def register_term_frequencies(linker: Any, tables: dict[str, pd.DataFrame]) -> None:
    """Term frequencies counted over every record rather than over the linker's own input
    (which, on the incremental path, is a sample biased towards the new records' names)."""
    for column, table in tables.items():
        # Splink registers a table only through its database API, which it keeps private.
        registered = linker._db_api.register(table)
        linker.table_management.register_term_frequency_lookup(registered, column)


def _in_dialect(settings: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The model with every comparison level and blocking rule written in ``dialect``.

    Splink drops a model's ``sql_dialect`` when it loads one and reads the levels' SQL as
    the engine's own: DuckDB's ``"name_l" = "name_r"`` would run on Spark as a comparison
    of two string literals, true of no pair. So the model is translated here.
    """
    source = settings.get("sql_dialect") or MODEL_DIALECT
    # Caseline's own keys (the version, the frequency scales) are not Splink settings.
    out = copy.deepcopy({k: v for k, v in settings.items() if not k.startswith("caseline_")})
    out["sql_dialect"] = dialect
    if source == dialect:
        return out
    for comparison in out.get("comparisons", []):
        for level in comparison["comparison_levels"]:
            if level["sql_condition"].strip().upper() != "ELSE":
                level["sql_condition"] = _translate(level["sql_condition"], source, dialect)
    for rule in out.get("blocking_rules_to_generate_predictions", []):
        if isinstance(rule, dict):
            rule_dialect = rule.get("sql_dialect") or source
            rule["blocking_rule"] = _translate(rule["blocking_rule"], rule_dialect, dialect)
            rule["sql_dialect"] = dialect
    return out


# Similarity functions whose names differ: DuckDB's built-ins, the UDFs of Splink's JAR.
_FUNCTION_NAMES = {
    "spark": {
        "jaro_winkler_similarity": "jaro_winkler",
        "jaro_similarity": "jaro_sim",
        "list_intersect": "array_intersect",
        "list_has_any": "arrays_overlap",
    },
    "duckdb": {
        "jaro_winkler": "jaro_winkler_similarity",
        "jaro_sim": "jaro_similarity",
        "arrays_overlap": "list_has_any",
    },
}


def _translate(sql: str, source: str, dialect: str) -> str:
    names = _FUNCTION_NAMES[dialect]

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.JarowinklerSimilarity):  # how sqlglot reads DuckDB's name
            node = exp.Anonymous(
                this="jaro_winkler_similarity", expressions=[node.this, node.expression]
            )
        if isinstance(node, exp.ArrayOverlaps):  # which sqlglot writes as '&&' for Spark
            node = exp.Anonymous(this="list_has_any", expressions=[node.this, node.expression])
        if isinstance(node, exp.Anonymous) and str(node.this).lower() in names:
            return exp.Anonymous(this=names[str(node.this).lower()], expressions=node.expressions)
        return node

    return sqlglot.parse_one(sql, read=source).transform(rename).sql(dialect=dialect)


def _spark_api_and_table(records: pd.DataFrame) -> tuple[Any, Any]:
    """Splink's Spark API on the shared session, and ``records`` as a Spark DataFrame.

    The schema is given rather than inferred: Spark cannot infer the type of a column that
    holds only nulls (a source without passports, say).
    """
    from splink import SparkAPI

    spark = _spark_session()
    rows = records.astype(object).where(records.notna(), None)
    table = spark.createDataFrame(rows, schema=_spark_schema(records, rows))
    db_api = SparkAPI(spark_session=spark, break_lineage_method="parquet")
    _register_similarities(spark)  # after Splink's, which each SparkAPI registers anew
    return db_api, table


def _register_similarities(spark: Any) -> None:
    """String similarities on Spark, computed as DuckDB computes them.

    The UDFs in Splink's JAR count matching characters differently when a letter repeats
    (SHEPHERD ~ SHCPHERD: 0.876 against DuckDB's 0.895), so a pair near a threshold would
    take another level on Spark; and they return 0 (Damerau-Levenshtein: 100) rather than
    NULL for a missing value. jellyfish agrees with DuckDB on values and NULLs; it runs here
    as vectorised (Arrow) Python UDFs under the JAR's names.
    """
    from pyspark.sql.functions import pandas_udf

    for name, similarity in SPARK_SIMILARITIES.items():
        spark.udf.register(name, pandas_udf(_pairwise(similarity), "double"))


def _pairwise(
    similarity: Callable[[str, str], float],
) -> Callable[[pd.Series, pd.Series], pd.Series]:
    """``similarity`` over two columns of text, NULL where either value is."""

    def pairwise(left: pd.Series, right: pd.Series) -> pd.Series:
        values = [
            None if a is None or b is None else similarity(a, b)
            for a, b in zip(left, right, strict=True)
        ]
        return pd.Series(pd.array(values, dtype="Float64"))  # NULL stays NULL, never NaN

    return pairwise


def _spark_schema(records: pd.DataFrame, rows: pd.DataFrame) -> Any:
    """Each column's Spark type: from its Arrow type where it has one (a list of integers
    or an integer stays one when no record holds a value), else from the first value of
    ``rows`` (the records as Python objects): text, a list (of texts or of integers), or a
    number."""
    from pyspark.sql.types import (
        ArrayType,
        BooleanType,
        DataType,
        DoubleType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    def spark_type(name: str) -> DataType:
        dtype, column = records[name].dtype, rows[name]
        if isinstance(dtype, pd.ArrowDtype) and pa.types.is_large_list(dtype.pyarrow_dtype):
            element_type = dtype.pyarrow_dtype.value_type
            return ArrayType(LongType() if pa.types.is_integer(element_type) else StringType())
        if isinstance(dtype, pd.ArrowDtype) and pa.types.is_integer(dtype.pyarrow_dtype):
            return LongType()
        value = next((v for v in column if v is not None), None)
        if isinstance(value, tuple | list | np.ndarray):
            element = next((e for v in column if v is not None for e in v), "")
            return ArrayType(LongType() if isinstance(element, int | np.integer) else StringType())
        if isinstance(value, bool):
            return BooleanType()
        if isinstance(value, int):
            return LongType()
        if isinstance(value, float):
            return DoubleType()
        return StringType()

    return StructType([StructField(str(c), spark_type(c), nullable=True) for c in rows])


def _spark_session() -> Any:
    """The process's local SparkSession, started on first use with Splink's similarity UDFs."""
    global _spark
    with _spark_lock:
        if _spark is None:
            _spark = _start_spark()
        return _spark


def _start_spark() -> Any:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # UDF workers: this interpreter
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    scratch = tempfile.mkdtemp(prefix="caseline-spark-")
    log_config = os.path.join(scratch, "log4j2.properties")
    with open(log_config, "w") as file:
        file.write(_LOG4J2)
    builder = SparkSession.builder
    for key, value in {
        **SPARK_CONFIG,
        "spark.jars": similarity_jar_location(),  # Splink's UDFs (some replaced, see above)
        "spark.sql.warehouse.dir": os.path.join(scratch, "warehouse"),
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{log_config}",
    }.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    # Splink writes intermediate tables as Parquet here to cut Spark's lineage.
    spark.sparkContext.setCheckpointDir(os.path.join(scratch, "checkpoints"))
    atexit.register(_stop_spark, spark, scratch)
    return spark


# Spark's own logging: errors only, as plain lines on stderr (not over the progress bars).
# Spark announces "Setting default log level" unless its own loggers (org.apache.*) are set
# explicitly to the root's level, hence the "org" logger beside the root.
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = spark %p %c{1}: %m%n
logger.org.name = org
logger.org.level = error
"""


def _stop_spark(spark: Any, scratch: str) -> None:
    spark.stop()
    shutil.rmtree(scratch, ignore_errors=True)


JoinKeys = list[tuple[tuple[str, ...], tuple[str, ...]]]
_ALL_AT_ONCE = 2**31 - 1  # rows in one Arrow batch
_MOST_PARTS = 32  # placed batches held apart before they are merged into one part
NEW_COLUMN = "caseline_new"  # in a batch: 1 for a record being placed, 0 for a kept one


class KeptRecords:
    """The records a full run kept (Parquet in ``folder``) and the term-frequency counts
    over them: what placing a batch needs, read once.

    A long-lived process keeps one open between batches (``add`` appends each placed batch).
    ``select`` holds a batch: its new records and the kept records that some blocking rule's
    join key pairs with one of them. Each rule's key is hashed once per kept record and held
    sorted, so a batch finds its candidates by binary search and takes only their rows from
    the records (Arrow, in memory). ``scored`` scores the batch in an in-memory DuckDB, or
    hands it to another engine as a frame.
    """

    def __init__(
        self,
        folder: Path,
        join_keys: JoinKeys,
        frequency_columns: list[str],
        scales: Mapping[str, float] | None = None,
    ) -> None:
        import duckdb

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
        self._ids = _SortedHashes()
        self._keys = [_SortedHashes() for _ in join_keys]
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

    def prepare(self, model: dict[str, Any], engine: str) -> None:
        """Build what scoring a batch with ``model`` needs now rather than for the first batch
        (on DuckDB, the model's linker: about half a second)."""
        if engine == "duckdb":
            self._duckdb_linker(model)

    @contextmanager
    def scored(self, model: dict[str, Any], engine: str) -> Iterator[tuple[Any, Any]]:
        """A linker over the held batch and its predictions: the pairs with a new record in
        them that a blocking rule of ``model`` makes (the kept records were compared with
        one another by the full run). Predictions are dropped on leaving."""
        if engine == "duckdb":
            linker = self._duckdb_linker(model)
        else:  # the other engine gets the batch as a frame and blocks it itself
            narrowed = _only_pairs_with_new_records(model)
            linker = create_linker(self.batch_frame(), narrowed, engine, validate=False)
            register_term_frequencies(linker, self.frequencies())
        predictions = linker.inference.predict()
        try:
            yield linker, predictions
        finally:
            predictions.drop_table_from_database_and_remove_from_cache()

    def _duckdb_linker(self, model: dict[str, Any]) -> Any:
        """The model's linker over the batch on this DuckDB, built once: each batch replaces
        the tables it reads (records, term frequencies, pairs), so only the pairs are made
        here, from the model's own rules."""
        if self._scorer is None or self._scorer.model is not model:
            self._scorer = _Scorer(model)
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


class _SortedHashes:
    """Hashes with the positions of the records that hold them, sorted by hash, so that the
    records holding any of a few hashes are found by binary search."""

    def __init__(self) -> None:
        self._hashes = np.empty(0, dtype=np.uint64)
        self._positions = np.empty(0, dtype=np.int64)

    def insert(self, hashes: np.ndarray, positions: np.ndarray) -> None:
        """Add the ``hashes`` of the records at ``positions`` (one record may hold several)."""
        order = np.argsort(hashes)
        if not len(self._hashes):  # the first records: nothing to merge with
            self._hashes, self._positions = hashes[order], positions[order]
            return
        at = np.searchsorted(self._hashes, hashes[order])
        self._hashes = np.insert(self._hashes, at, hashes[order])
        self._positions = np.insert(self._positions, at, positions[order])

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """The positions of the records holding any of ``hashes``."""
        wanted = np.unique(hashes)
        low = np.searchsorted(self._hashes, wanted, "left")
        counts = np.searchsorted(self._hashes, wanted, "right") - low
        # Each wanted hash's run of positions, laid end to end.
        starts = np.repeat(low - np.cumsum(counts) + counts, counts)
        found: np.ndarray = self._positions[starts + np.arange(counts.sum())]
        return found


class _Scorer:
    """A model's linker over the batch tables of a DuckDB connection, and the SQL that makes
    the batch's pairs from the model's blocking rules."""

    def __init__(self, model: dict[str, Any]) -> None:
        self.model = model
        self._settings = _in_dialect(model, "duckdb")
        rules = self._settings["blocking_rules_to_generate_predictions"]
        self.pairs_sql = blocked_pairs_sql(rules, "batch", new_only=True)
        self._linker: Any = None

    def linker(self, con: Any, frequency_columns: list[str]) -> Any:
        """The linker, built on first use (the batch tables it reads exist by then)."""
        if self._linker is None:
            db_api = DuckDBAPI(connection=con)
            self._linker = Linker(
                db_api.register("batch"),
                self._settings,
                log_level=logging.ERROR,
                validate_settings=False,  # validated when trained; Splink's check takes a second
            )
            tables = self._linker.table_management
            for column in frequency_columns:
                tables.register_term_frequency_lookup(db_api.register(f"tf_{column}"), column)
            pairs = tables.register_blocked_pairs_for_predict(db_api.register("batch_pairs"))
            # Splink would first copy out each side's records of a registered table of pairs
            # (for inputs far larger than a batch); unmarked, it scores them in place.
            pairs.metadata["registered_for_predict"] = False
        return self._linker


def blocked_pairs_sql(rules: list[dict[str, Any]], table: str, *, new_only: bool = False) -> str:
    """DuckDB SQL for the pairs the model's blocking ``rules`` make among the records of
    ``table``, as Splink's table of blocked pairs (the first rule that makes a pair is its
    match key). Each rule is joined on its own, a rule over a list column with one row per
    element, and a pair that several rules make is kept once. ``new_only``: only pairs with
    a record flagged new, each rule joined twice, from the new records on either side,
    rather than over every pair of kept records and then filtered."""
    sides = ("l", "r") if new_only else ("",)
    joins = []
    for k, rule in enumerate(rules):
        rows = _rows(rule, table, new_only)
        for side in sides:
            # Only the model's own rules and column names are interpolated.
            joins.append(
                f"SELECT {k} AS k, l.unique_id AS join_key_l, r.unique_id AS join_key_r "  # noqa: S608
                f"FROM {rows} AS l JOIN {rows} AS r ON ({rule['blocking_rule']}) "
                "WHERE l.unique_id < r.unique_id"
                + (f" AND {side}.{NEW_COLUMN} = 1" if side else "")
            )
    return (
        "SELECT CAST(min(k) AS VARCHAR) AS match_key, join_key_l, join_key_r "  # noqa: S608
        f"FROM ({' UNION ALL '.join(joins)}) GROUP BY join_key_l, join_key_r"
    )


_COLUMN = re.compile(r"""\b[lr]\.(?:"([^"]+)"|`([^`]+)`|(\w+))""")


def _rows(rule: dict[str, Any], table: str, new_only: bool) -> str:
    """What a rule joins: the table, or for a rule over list columns, one row per element
    with only the columns the rule reads."""
    exploded = rule.get("arrays_to_explode") or []
    if not exploded:
        return table
    read = {next(g for g in m.groups() if g) for m in _COLUMN.finditer(rule["blocking_rule"])}
    kept = ["unique_id", *([NEW_COLUMN] if new_only else []), *sorted(read - set(exploded))]
    columns = [f'"{c}"' for c in kept] + [f'unnest("{c}") AS "{c}"' for c in exploded]
    return f"(SELECT {', '.join(columns)} FROM {table})"  # noqa: S608


def _only_pairs_with_new_records(model: dict[str, Any]) -> dict[str, Any]:
    """The model with each blocking rule narrowed to pairs that hold a new record, for an
    engine that blocks the batch itself."""
    narrowed = copy.deepcopy(model)
    for rule in narrowed["blocking_rules_to_generate_predictions"]:
        rule["blocking_rule"] = (
            # Unquoted: the same text reads right in DuckDB's and Spark's SQL.
            f"({rule['blocking_rule']}) AND (l.{NEW_COLUMN} = 1 OR r.{NEW_COLUMN} = 1)"
        )
    return narrowed


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
