"""The Spark engine: Spark in local mode inside this process, or on a cluster (an extra).

Without a master URL, one local session, started on first use and stopped when the
interpreter exits, bound to the loopback interface with its web UI off. Given a master
(``spark://host:7077``, ``yarn``, ``k8s://...``: `SparkPlace`), the session is a client of
that cluster: the master is probed first, so an address nobody answers is an error within
seconds, and an application the cluster gives no executor is one within a minute. pyspark is
imported only then, so importing Caseline stays fast and works without it.

Records reach Spark as Parquet: this process writes them to a staging folder (on a cluster,
one its executors read too: a shared path or a bucket) and Spark reads them there, rather
than taking every row through the driver's Python. What comes back is read in bulk, through
Arrow: for clustering, the components of the links, found on the cluster, and the links and
vetoes inside the contested ones (`contested_pairs`, `spark_components`). See docs/spark.md.

The similarity functions a model's SQL calls are Caseline's own on Spark (jellyfish), not
the ones in Splink's JAR, which score some names differently from DuckDB.
"""

from __future__ import annotations

import atexit
import importlib.util
import ipaddress
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from caseline.errors import InputError, MissingExtra
from caseline.resolve.engine.base import Engine

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame

    from caseline.resolve.engine.spark_components import ContestedPairs

INSTALL_HINT = "pip install 'caseline[spark]'"
MASTER_PROBE_SECONDS = 10.0  # to open a connection to a spark:// master
EXECUTOR_WAIT_SECONDS = 90.0  # for the cluster to give the application its first executor

# Spark sized for a workstation: its cores, a few GiB, a handful of shuffle partitions. On a
# cluster the shuffle partitions follow its cores (`_size_shuffles`), unless configured.
SPARK_CONFIG = {
    "spark.app.name": "caseline-resolve",
    "spark.driver.memory": "3g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
LOCAL_CONFIG = {
    "spark.master": "local[*]",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
}
# Where the driver listens when every executor runs on this machine.
LOOPBACK_DRIVER = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}

# Spark's name for a string similarity -> the function that computes it as DuckDB does.
SPARK_SIMILARITIES: dict[str, Callable[[str, str], float]] = {
    "jaro_winkler": jellyfish.jaro_winkler_similarity,
    "jaro_sim": jellyfish.jaro_similarity,
    "damerau_levenshtein": jellyfish.damerau_levenshtein_distance,
}


@dataclass(frozen=True, slots=True)
class SparkPlace:
    """Where Spark runs: in this process (no ``master``) or as a client of a cluster.

    ``staging``: the folder (a path, or a URI such as ``s3://bucket/caseline``) this process
    writes the records to and every executor reads them from; on a cluster it is required,
    since a folder only this machine sees would fail on the executors. ``config``: more
    Spark settings (``spark.executor.memory``, ...), over Caseline's own.
    """

    master: str | None = None
    staging: str | None = None
    config: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.master is not None:
            _check_master(self.master)
            if self.staging is None and not self.on_this_machine:
                raise InputError(
                    f"a cluster ({self.master}) reads the records from a staging folder its "
                    "executors share with this machine (a shared path or a bucket); give one "
                    "with --spark-staging or CASELINE_SPARK_STAGING",
                    where="--spark-staging",
                )

    @property
    def on_this_machine(self) -> bool:
        """Whether every executor runs here: local mode, or a master on the loopback."""
        return self.master is None or _loopback(self.master)

    def key(self) -> tuple[str | None, str | None, tuple[tuple[str, str], ...]]:
        return self.master, self.staging, tuple(sorted(self.config.items()))


_spark_lock = threading.Lock()
_current: _Session | None = None  # the process's one session, and where it runs


@dataclass(slots=True)
class _Session:
    place: SparkPlace
    spark: Any  # the SparkSession
    scratch: Path  # this process's own folder: Spark's warehouse and log settings
    staged: str  # where records are staged for this session (removed when it stops)
    staged_filesystem: Any  # pyarrow's FileSystem for ``staged``
    staged_path: str  # ``staged`` as that filesystem names it


class SparkEngine(Engine):
    """Spark: every linker on the process's one session, local or on a cluster. A batch of
    new records is handed over as a frame and blocked by Spark."""

    name = "spark"

    def __init__(self, place: SparkPlace | None = None) -> None:
        if importlib.util.find_spec("pyspark") is None:
            raise MissingExtra(
                f"the Spark engine needs pyspark, which is not installed: {INSTALL_HINT}",
                where="--engine",
            )
        self.place = place or SparkPlace()

    def _register_records(self, records: pd.DataFrame) -> SplinkDataFrame:
        """The records, staged as Parquet and read by Spark, registered with Splink's API."""
        from splink import SparkAPI

        session = _spark_session(self.place)
        name = f"records_{uuid.uuid4().hex[:12]}"  # the session outlives each linker
        table = session.spark.read.parquet(_stage(session, as_arrow(records), name))
        db_api = SparkAPI(spark_session=session.spark, break_lineage_method="parquet")
        _register_similarities(session.spark)  # after Splink's, which each SparkAPI registers
        return db_api.register(table, dataset_display_name=name)

    def contested_pairs(
        self,
        predictions: SplinkDataFrame,
        dated: np.ndarray,
        *,
        link_weight: float,
        prior_weight: float,
        must_link: pd.DataFrame,
        cannot_link: pd.DataFrame,
    ) -> ContestedPairs:
        """The components of the links among ``predictions`` (pairs of record numbers below
        ``len(dated)``; ``dated``: which records have a date of birth) and the reviewers'
        must-links, found on the cluster, with the links and vetoes (`decisive_pairs_sql`)
        inside the contested ones: all that clustering needs, read back in bulk without
        every link passing through the driver. The dated records' numbers reach the
        cluster as Parquet, as the records do."""
        from caseline.resolve.engine.spark_components import (
            contested_pairs_on_spark,
            decisive_pairs_sql,
        )

        session = _spark_session(self.place)
        numbers = pa.table({"node": pa.array(np.flatnonzero(dated), type=pa.int64())})
        name = f"dated_{uuid.uuid4().hex[:12]}"
        session.spark.read.parquet(_stage(session, numbers, name)).createOrReplaceTempView(name)
        try:
            links, vetoes = decisive_pairs_sql(
                predictions.physical_name,
                name,
                link_weight=link_weight,
                prior_weight=prior_weight,
            )
            return contested_pairs_on_spark(
                session.spark, len(dated), links, vetoes, must_link, cannot_link
            )
        finally:
            session.spark.catalog.dropTempView(name)


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


def as_arrow(records: pd.DataFrame) -> pa.Table:
    """The records in Arrow, as Parquet will keep them for Spark. A column (or a list's
    element) that holds no value is typed as text, as it would be if it held one: Parquet
    keeps Arrow's null type, which Spark cannot compare."""
    table = pa.Table.from_pandas(records, preserve_index=False).replace_schema_metadata()

    def typed(data_type: pa.DataType) -> pa.DataType:
        if pa.types.is_null(data_type):
            return pa.string()
        if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
            return pa.list_(typed(data_type.value_type))
        return data_type

    return table.cast(pa.schema([f.with_type(typed(f.type)) for f in table.schema]))


def _stage(session: _Session, table: pa.Table, name: str) -> str:
    """Write ``table`` to the session's staging folder; the URI Spark reads it from."""
    pq.write_table(
        table, f"{session.staged_path}/{name}.parquet", filesystem=session.staged_filesystem
    )
    return f"{session.staged}/{name}.parquet"


# --- the session ----------------------------------------------------------------------------

_MASTER = re.compile(r"spark://[^/\s]+|yarn|k8s://\S+|local(\[(\d+|\*)(,\d+)?\])?")


def _check_master(master: str) -> None:
    if not _MASTER.fullmatch(master):
        raise InputError(
            f"{master!r} is not a Spark master URL: give spark://HOST:PORT (a standalone "
            "cluster; several as spark://H1:P1,H2:P2), yarn, k8s://https://HOST:PORT or local[N]",
            where="--spark-master",
        )
    _standalone_masters(master)  # each HOST:PORT


def _standalone_masters(master: str) -> list[tuple[str, int]]:
    """(host, port) of each master a spark:// URL names (none for another kind of master)."""
    if not master.startswith("spark://"):
        return []
    found = []
    for part in master.removeprefix("spark://").split(","):
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit():
            raise InputError(f"{part!r} in {master!r} is not HOST:PORT", where="--spark-master")
        found.append((host.strip("[]"), int(port)))
    return found


def _loopback(master: str) -> bool:
    if master.startswith("local"):
        return True

    def is_loopback(host: str) -> bool:
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    masters = _standalone_masters(master)
    return bool(masters) and all(is_loopback(host) for host, _ in masters)


def _probe(master: str) -> None:
    """Refuse, within seconds and saying why, a standalone master nobody answers at: Spark
    itself would retry for a minute and then stop with a stack trace."""
    failures = []
    for host, port in _standalone_masters(master):
        try:
            with socket.create_connection((host, port), timeout=MASTER_PROBE_SECONDS):
                return
        except OSError as exc:
            failures.append(f"{host}:{port}: {exc.strerror or exc}")
    if failures:
        raise InputError(
            f"no Spark master answers at {master} ({'; '.join(failures)}); check the URL and "
            "that the master runs and lets this machine connect",
            where="--spark-master",
        )


def _spark_session(place: SparkPlace) -> _Session:
    """The process's SparkSession where ``place`` says, started on first use (Spark allows
    one per process: a session elsewhere is stopped first)."""
    global _current
    with _spark_lock:
        if _current is not None and _current.place.key() != place.key():
            _stop(_current)
            _current = None
        if _current is None:
            _current = _start_spark(place)
            if not _stop_registered:
                _register_stop()
        return _current


_stop_registered = False


def _register_stop() -> None:
    global _stop_registered
    atexit.register(stop_spark)
    _stop_registered = True


def _start_spark(place: SparkPlace) -> _Session:
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    if place.master is not None:
        _probe(place.master)
    if place.on_this_machine:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # UDF workers: this Python
    scratch = Path(tempfile.mkdtemp(prefix="caseline-spark-"))
    log_config = scratch / "log4j2.properties"
    log_config.write_text(_LOG4J2)
    staged = _staging_uri(place, scratch)
    filesystem, staged_path = pafs.FileSystem.from_uri(_for_arrow(staged))
    filesystem.create_dir(staged_path, recursive=True)
    defaults = {
        **SPARK_CONFIG,
        **(LOCAL_CONFIG if place.master is None else {}),
        **(LOOPBACK_DRIVER if place.on_this_machine else {}),
        "spark.jars": similarity_jar_location(),  # Splink's UDFs (some replaced, see above)
        "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{log_config}",
    }
    configured = _spark_defaults()  # an operator's spark-defaults.conf wins over Caseline's
    settings = {
        **{key: value for key, value in defaults.items() if key not in configured},
        **({"spark.master": place.master} if place.master is not None else {}),
        **place.config,
    }
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    session = _Session(place, spark, scratch, staged, filesystem, staged_path)
    try:
        # Splink writes intermediate tables as Parquet here to cut Spark's lineage.
        spark.sparkContext.setCheckpointDir(f"{staged}/checkpoints")
        if place.master is not None and not place.master.startswith("local"):
            _wait_for_executors(spark, place.master)
            _size_shuffles(spark)
    except BaseException:
        _stop(session)
        raise
    return session


def _spark_defaults() -> set[str]:
    """The settings spark-defaults.conf gives (in ``$SPARK_CONF_DIR``, else in the conf folder
    of the Spark pyspark runs), which Spark reads as it starts."""
    spec = importlib.util.find_spec("pyspark")
    home = os.environ.get("SPARK_HOME") or (
        str(Path(spec.origin).parent) if spec and spec.origin else ""
    )
    folder = Path(os.environ.get("SPARK_CONF_DIR") or Path(home) / "conf")
    try:
        lines = (folder / "spark-defaults.conf").read_text().splitlines()
    except OSError:
        return set()
    return {line.split()[0] for line in lines if line.strip() and not line.startswith("#")}


def _staging_uri(place: SparkPlace, scratch: Path) -> str:
    """This session's own folder under the staging folder (the scratch one if none given)."""
    if place.staging is None:
        return str(scratch / "staged")
    base = place.staging.rstrip("/")
    if "://" not in base and not base.startswith("/"):
        base = str(Path(base).resolve())
    return f"{base}/caseline-{uuid.uuid4().hex[:12]}"


def _for_arrow(uri: str) -> str:
    """The staging URI as pyarrow names its filesystem (Hadoop's s3a:// is S3)."""
    return "s3://" + uri.removeprefix("s3a://") if uri.startswith("s3a://") else uri


def _wait_for_executors(spark: Any, master: str) -> None:
    """Wait until the cluster gives the application an executor (where executors are not
    started on demand): a cluster without free cores or memory would leave every job
    waiting, with no word said."""
    conf = spark.sparkContext.getConf()
    if conf.get("spark.dynamicAllocation.enabled", "false").lower() == "true":
        return
    deadline = time.monotonic() + EXECUTOR_WAIT_SECONDS
    while time.monotonic() < deadline:
        if spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() > 1:  # the driver too
            return
        time.sleep(0.5)
    memory = conf.get("spark.executor.memory", "1g")
    cores = conf.get("spark.executor.cores", "all of a worker's")
    raise InputError(
        f"the Spark master at {master} accepted Caseline but gave it no executor within "
        f"{EXECUTOR_WAIT_SECONDS:.0f} s: no worker has the free cores and memory an executor "
        f"asks ({cores} cores, spark.executor.memory={memory}), or no worker is registered",
        where="--spark-master",
    )


def _size_shuffles(spark: Any) -> None:
    """Shuffle partitions after the cluster's cores (twice them), unless configured."""
    if not spark.sparkContext.getConf().contains("spark.sql.shuffle.partitions"):
        partitions = max(4, 2 * spark.sparkContext.defaultParallelism)
        spark.conf.set("spark.sql.shuffle.partitions", str(partitions))


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


def stop_spark() -> None:
    """Stop the process's Spark session, if one runs (at exit, or before its cluster goes)."""
    global _current
    with _spark_lock:
        if _current is not None:
            _stop(_current)
            _current = None


def _stop(session: _Session) -> None:
    """Stop the session and remove what it staged and its scratch folder."""
    session.spark.stop()
    with suppress(OSError):  # already gone, or the bucket's owner keeps it
        session.staged_filesystem.delete_dir(session.staged_path)
    shutil.rmtree(session.scratch, ignore_errors=True)
