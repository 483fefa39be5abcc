"""Which SQL engine runs the model: DuckDB, embedded (the default), or Spark (an extra).

An `Engine` builds Splink linkers over records and scores the pairs Caseline makes for
them; everything above this package speaks Splink's settings and an `Engine`, never a
database. Only this package imports duckdb or pyspark, and pyspark only when the Spark
engine is chosen (`engine_named`).
"""

from caseline.errors import InputError
from caseline.resolve.engine.base import Engine, PairsToScore
from caseline.resolve.engine.duckdb import DuckDBEngine
from caseline.resolve.engine.kept_records import JoinKeys, KeptRecords
from caseline.resolve.engine.pairs import NEW_COLUMN, blocked_pairs_sql

ENGINE_NAMES = ("duckdb", "spark")  # each named as its SQL dialect is
DEFAULT_ENGINE: Engine = DuckDBEngine()


def engine_named(
    name: str, *, spark_master: str | None = None, spark_staging: str | None = None
) -> Engine:
    """The engine the command line calls ``name`` (the Spark engine needs pyspark, an
    extra: `caseline.errors.MissingExtra` says how to install it). Spark runs in local mode,
    or on the cluster ``spark_master`` names, staging records in ``spark_staging``
    (docs/spark.md); DuckDB ignores both."""
    if name == DEFAULT_ENGINE.name:
        return DEFAULT_ENGINE
    if name == "spark":
        from caseline.resolve.engine.spark import SparkEngine, SparkPlace

        return SparkEngine(SparkPlace(spark_master, spark_staging))
    raise InputError(
        f"unknown engine {name!r}; available: {', '.join(ENGINE_NAMES)}", where="--engine"
    )


__all__ = [
    "DEFAULT_ENGINE",
    "ENGINE_NAMES",
    "NEW_COLUMN",
    "Engine",
    "JoinKeys",
    "KeptRecords",
    "PairsToScore",
    "blocked_pairs_sql",
    "engine_named",
]
