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
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jellyfish
import pandas as pd
import sqlglot
from splink import DuckDBAPI, Linker, SettingsCreator
from sqlglot import exp

from caseline.errors import InputError

ENGINES = ("duckdb", "spark")  # each named as its SQL dialect is
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
) -> Any:
    """A Splink linker over ``records`` on the chosen engine (``validate``: Splink checks
    the settings' SQL first, about a second for Caseline's model)."""
    if engine not in ENGINES:
        raise InputError(
            f"unknown engine {engine!r}; available: {', '.join(ENGINES)}", where="--engine"
        )
    if engine == "spark":
        db_api, table = _spark_api_and_table(records)
        name = f"records_{uuid.uuid4().hex[:12]}"  # the session outlives each linker
    else:
        db_api, table, name = DuckDBAPI(), records, "records"
    if isinstance(settings, dict):
        settings = _in_dialect(settings, engine)
    frame = db_api.register(table, dataset_display_name=name)
    return Linker(frame, settings, log_level=logging.ERROR, validate_settings=validate)


def register_term_frequencies(linker: Any, tables: dict[str, pd.DataFrame]) -> None:
    """Term frequencies counted over every record rather than over the linker's own input
    (which, on the incremental path, is a sample biased towards the new records' names)."""
    for column, table in tables.items():
        # Splink registers a table only through its database API, which it keeps private.
        registered = linker._db_api.register(table)
        linker.table_management.register_term_frequency_lookup(registered, column)


def to_pandas(splink_frame: Any) -> pd.DataFrame:
    return splink_frame.as_pandas_dataframe()


def _in_dialect(settings: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The model with every comparison level and blocking rule written in ``dialect``.

    Splink drops a model's ``sql_dialect`` when it loads one and reads the levels' SQL as
    the engine's own: DuckDB's ``"name_l" = "name_r"`` would run on Spark as a comparison
    of two string literals, true of no pair. So the model is translated here.
    """
    source = settings.get("sql_dialect") or MODEL_DIALECT
    out = copy.deepcopy(settings)
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
    },
    "duckdb": {"jaro_winkler": "jaro_winkler_similarity", "jaro_sim": "jaro_similarity"},
}


def _translate(sql: str, source: str, dialect: str) -> str:
    names = _FUNCTION_NAMES[dialect]

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.JarowinklerSimilarity):  # how sqlglot reads DuckDB's name
            node = exp.Anonymous(
                this="jaro_winkler_similarity", expressions=[node.this, node.expression]
            )
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
    table = spark.createDataFrame(rows, schema=_spark_schema(rows))
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


def _spark_schema(rows: pd.DataFrame) -> Any:
    """Each column's Spark type, from its first value: text, a list of texts, or a number."""
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

    def spark_type(column: pd.Series) -> DataType:
        value = next((v for v in column if v is not None), None)
        if isinstance(value, tuple | list):
            return ArrayType(StringType())
        if isinstance(value, bool):
            return BooleanType()
        if isinstance(value, int):
            return LongType()
        if isinstance(value, float):
            return DoubleType()
        return StringType()

    return StructType([StructField(str(c), spark_type(rows[c]), nullable=True) for c in rows])


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


class KeptRecords:
    """The records a full run kept (Parquet in ``folder``), held in an in-memory DuckDB with
    the term-frequency counts over them: what placing a batch needs, read once.

    A long-lived process keeps one open between batches (``add`` appends each placed batch);
    ``select`` then finds the kept records a batch can meet through the blocking rules' join
    keys. Each rule's key is hashed once per kept record, so a batch probes integers rather
    than strings. The records never enter Python whole, whichever engine scores the pairs.
    """

    def __init__(self, folder: Path, join_keys: JoinKeys, frequency_columns: list[str]) -> None:
        import duckdb

        self._join_keys = join_keys
        self._frequency_columns = frequency_columns
        self._totals: dict[str, int] = {}
        self._con = duckdb.connect()
        pattern = str(folder / "*.parquet").replace("'", "''")
        self._con.sql(
            f"CREATE TABLE kept AS SELECT *, {self._hashed_keys()} "  # noqa: S608
            f"FROM read_parquet('{pattern}')"
        )
        for column in frequency_columns:
            # Only the model's own column names are interpolated.
            self._con.sql(
                f'CREATE TABLE "counts_{column}" AS SELECT "{column}" AS value, count(*) AS n '  # noqa: S608
                f'FROM kept WHERE "{column}" IS NOT NULL GROUP BY 1'
            )
            self._totals[column] = self._total(column)

    def _hashed_keys(self) -> str:
        """One column per rule: the hash of the kept record's (left) key columns, or NULL."""
        return ", ".join(
            f"{_key_hash(left)} AS {_key_column(i)}"
            for i, (left, _right) in enumerate(self._join_keys)
        )

    def __enter__(self) -> KeptRecords:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()

    def select(self, new: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
        """The kept records that some join key pairs with a record of ``new`` (left columns of
        the kept record equal to right columns of the new one), and each frequency column's
        term frequencies over kept and new records together (only for the values the
        selected or new records hold)."""
        con = self._con
        keys = sorted({c for left, right in self._join_keys for c in (*left, *right)})
        needed = list(dict.fromkeys(["unique_id", *keys, *self._frequency_columns]))
        con.register("new_frame", new[needed])
        try:
            # A hash collision only adds a candidate, which the model then scores.
            meets = " UNION ".join(
                f"SELECT unique_id FROM kept WHERE {_key_column(i)} IN "  # noqa: S608
                f"(SELECT {_key_hash(right)} FROM new_frame)"
                for i, (_left, right) in enumerate(self._join_keys)
            )
            hashed = ", ".join(_key_column(i) for i in range(len(self._join_keys)))
            con.sql(
                f"CREATE OR REPLACE TEMP TABLE selected AS SELECT * EXCLUDE ({hashed}) "  # noqa: S608
                f"FROM kept WHERE unique_id IN ({meets}) "
                "AND unique_id NOT IN (SELECT unique_id FROM new_frame)"
            )
            con.sql(
                "CREATE OR REPLACE TEMP TABLE fresh AS SELECT * FROM new_frame "
                "WHERE unique_id NOT IN (SELECT unique_id FROM kept)"
            )
            frequencies = {column: self._frequencies(column) for column in self._frequency_columns}
            selected = con.sql("SELECT * FROM selected").df()
        finally:
            con.unregister("new_frame")
        for column in selected.columns:  # lists come back as arrays; the model holds tuples
            filled = selected[column].dropna()
            if len(filled) and not isinstance(filled.iloc[0], str):
                selected[column] = [tuple(v) if v is not None else v for v in selected[column]]
        return selected.astype(object).where(selected.notna(), None), frequencies

    def _total(self, column: str) -> int:
        total = self._con.sql(f'SELECT coalesce(sum(n), 0) FROM "counts_{column}"').fetchall()  # noqa: S608
        return int(total[0][0])

    def _frequencies(self, column: str) -> pd.DataFrame:
        # The kept counts of the values wanted, plus the new records not kept yet (``fresh``),
        # over the total of both (the kept total is held, not summed again each batch).
        return self._con.sql(
            f'WITH fresh_counts AS (SELECT "{column}" AS value, count(*) AS n FROM fresh '  # noqa: S608
            f'WHERE "{column}" IS NOT NULL GROUP BY 1), '
            f'wanted AS (SELECT "{column}" AS value FROM selected '
            f'UNION SELECT "{column}" FROM new_frame), '
            f'counts AS (SELECT value, sum(n) AS n FROM (SELECT * FROM "counts_{column}" '
            "WHERE value IN (SELECT value FROM wanted) UNION ALL SELECT * FROM fresh_counts) "
            "GROUP BY 1) "
            f'SELECT value AS "{column}", n / ({self._totals[column]} + '
            f'(SELECT coalesce(sum(n), 0) FROM fresh_counts)) AS "tf_{column}" '
            "FROM counts WHERE value IN (SELECT value FROM wanted)"
        ).df()

    def add(self, placed: Any) -> None:
        """Append a placed batch (records not kept yet; an Arrow table with the kept records'
        schema), counting its values."""
        con = self._con
        con.register("placed", placed)
        try:
            fresh = (
                f"SELECT *, {self._hashed_keys()} FROM placed "  # noqa: S608
                "WHERE unique_id NOT IN (SELECT unique_id FROM kept)"
            )
            for column in self._frequency_columns:
                con.sql(
                    f'INSERT INTO "counts_{column}" SELECT "{column}", count(*) '  # noqa: S608
                    f'FROM ({fresh}) WHERE "{column}" IS NOT NULL GROUP BY 1'
                )
            con.sql(f"INSERT INTO kept BY NAME {fresh}")
        finally:
            con.unregister("placed")
        self._totals = {column: self._total(column) for column in self._frequency_columns}


def _key_column(rule: int) -> str:
    return f"caseline_key_{rule}"


def _key_hash(columns: tuple[str, ...]) -> str:
    """SQL for the hash of ``columns``, NULL unless every one is filled (as a join needs)."""
    filled = " AND ".join(f'"{c}" IS NOT NULL' for c in columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    return f"CASE WHEN {filled} THEN hash({quoted}) END"
