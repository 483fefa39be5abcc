"""The Spark engine: Spark in local mode inside this process (an optional extra).

One session, started on first use and stopped when the interpreter exits, bound to the
loopback interface with its web UI off. pyspark is imported only then, so importing
Caseline stays fast and works without it.

The similarity functions a model's SQL calls are Caseline's own on Spark (jellyfish), not
the ones in Splink's JAR, which score some names differently from DuckDB.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa

from caseline.errors import MissingExtra
from caseline.resolve.engine.base import Engine

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame

INSTALL_HINT = "pip install 'caseline[spark]'"

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


class SparkEngine(Engine):
    """Spark in local mode: every linker on the process's one session. A batch of new
    records is handed over as a frame and blocked by Spark."""

    name = "spark"

    def __init__(self) -> None:
        if importlib.util.find_spec("pyspark") is None:
            raise MissingExtra(
                f"the Spark engine needs pyspark, which is not installed: {INSTALL_HINT}",
                where="--engine",
            )

    def _register_records(self, records: pd.DataFrame) -> SplinkDataFrame:
        """The records as a Spark DataFrame, registered with Splink's Spark API.

        The schema is given rather than inferred: Spark cannot infer the type of a column
        that holds only nulls (a source without passports, say).
        """
        from splink import SparkAPI

        spark = _spark_session()
        rows = records.astype(object).where(records.notna(), None)
        table = spark.createDataFrame(rows, schema=_spark_schema(records, rows))
        db_api = SparkAPI(spark_session=spark, break_lineage_method="parquet")
        _register_similarities(spark)  # after Splink's, which each SparkAPI registers anew
        name = f"records_{uuid.uuid4().hex[:12]}"  # the session outlives each linker
        return db_api.register(table, dataset_display_name=name)


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
        spark.udf.register(name, pandas_udf(pairwise(similarity), "double"))


def pairwise(
    similarity: Callable[[str, str], float],
) -> Callable[[pd.Series, pd.Series], pd.Series]:
    """``similarity`` over two columns of text, NULL where either value is."""

    def over_columns(left: pd.Series, right: pd.Series) -> pd.Series:
        values = [
            None if a is None or b is None else similarity(a, b)
            for a, b in zip(left, right, strict=True)
        ]
        return pd.Series(pd.array(values, dtype="Float64"))  # NULL stays NULL, never NaN

    return over_columns


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

    scratch = Path(tempfile.mkdtemp(prefix="caseline-spark-"))
    log_config = scratch / "log4j2.properties"
    log_config.write_text(_LOG4J2)
    builder = SparkSession.builder
    for key, value in {
        **SPARK_CONFIG,
        "spark.jars": similarity_jar_location(),  # Splink's UDFs (some replaced, see above)
        "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{log_config}",
    }.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    # Splink writes intermediate tables as Parquet here to cut Spark's lineage.
    spark.sparkContext.setCheckpointDir(str(scratch / "checkpoints"))
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


def _stop_spark(spark: Any, scratch: Path) -> None:
    spark.stop()
    shutil.rmtree(scratch, ignore_errors=True)
