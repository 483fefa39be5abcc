"""Resolution on a Spark cluster: a real standalone master and worker on 127.0.0.1.

`caseline resolve --engine spark --spark-master URL` scores, clusters and places new records
on the cluster (its executors read the records staged as Parquet) and finds the persons
DuckDB finds with the same model. The cluster (one core, 1 GiB) is started from the Spark
that pyspark ships (tests/spark_cluster.py) and stopped afterwards. The tests without the
`spark` marker start no Java: they pin down the refusals, each within seconds.
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sqlalchemy import delete, select
from typer.testing import CliRunner

from caseline.cli import app
from caseline.db import Database
from caseline.db.models import PersonRecord, SourceRecord
from caseline.errors import InputError
from caseline.resolve import resolve_incrementally
from caseline.resolve.clustering import VETOES_OUTVOTED_AT, cluster_components, cluster_pairs
from caseline.resolve.engine.spark import (
    SparkEngine,
    SparkPlace,
    _spark_defaults,
    _spark_session,
    stop_spark,
)
from caseline.resolve.engine.spark_components import contested_pairs_on_spark
from caseline.resolve.linking import decisive_pairs
from caseline.resolve.model import match_weight
from tests.cli_support import add_cli_users, cli_login
from tests.conftest import OPERATOR
from tests.spark_cluster import StandaloneCluster, free_port, standalone_cluster

runner = CliRunner()


@pytest.fixture(scope="module")
def cluster() -> Iterator[StandaloneCluster]:
    with standalone_cluster(cores=1, memory="1g") as running:
        yield running
        stop_spark()  # the session goes before its cluster does


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One staging folder for the module, so that its tests share one Spark session (a
    session is started again whenever its master or staging folder changes)."""
    return tmp_path_factory.mktemp("staging")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 2,500 records of 300 persons, generated once."""
    out = tmp_path_factory.mktemp("cluster-world")
    result = runner.invoke(app, ["generate", "--persons", "300", "--seed", "7", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def workspace(tmp_path: Path, world: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The world ingested into a fresh SQLite workspace acting as its data engineer."""
    home = tmp_path / "home"
    monkeypatch.setenv("CASELINE_HOME", str(home))
    for name in ("DATABASE_URL", "CASELINE_TOKEN", "CASELINE_SPARK_MASTER"):
        monkeypatch.delenv(name, raising=False)
    add_cli_users(runner)
    monkeypatch.setenv("CASELINE_TOKEN", cli_login(runner, "engineer")["CASELINE_TOKEN"])
    ingested = runner.invoke(app, ["ingest", str(world)])
    assert ingested.exit_code == 0, ingested.output
    return home


def _persons(home: Path) -> set[frozenset[str]]:
    database = Database(f"sqlite:///{home / 'caseline.db'}")
    members: defaultdict[str, set[str]] = defaultdict(set)
    with database.transaction() as session:
        for record_id, person_id in session.execute(
            select(PersonRecord.record_id, PersonRecord.person_id)
        ):
            members[person_id].add(record_id)
    database.dispose()
    return {frozenset(records) for records in members.values()}


def _resolve(*options: str) -> None:
    result = runner.invoke(app, ["resolve", *options])
    assert result.exit_code == 0, result.output


@pytest.mark.spark
def test_a_standalone_cluster_finds_the_persons_duckdb_finds(
    cluster: StandaloneCluster, workspace: Path, staging: Path
) -> None:
    _resolve("--engine", "duckdb")
    on_duckdb = _persons(workspace)
    (model,) = (workspace / "models").glob("*.json")

    _resolve(
        *("--engine", "spark", "--model", str(model)),
        *("--spark-master", cluster.master_url, "--spark-staging", str(staging)),
    )
    on_cluster = _persons(workspace)

    assert len(on_duckdb) > 200
    assert on_cluster == on_duckdb
    # The cluster's worker ran this application's executor, which read the staged records.
    assert list((cluster.logs / "work").glob("app-*"))
    staged = list(staging.glob("caseline-*/records_*.parquet"))
    assert staged, "the records reach the cluster as Parquet in the staging folder"


@pytest.mark.spark
def test_a_standalone_cluster_places_new_records_as_duckdb_does(
    cluster: StandaloneCluster, workspace: Path, tmp_path: Path, staging: Path
) -> None:
    """Forty tax records are taken out of their persons in two copies of a resolved
    workspace; one places them on DuckDB, the other on the cluster, from the settings."""
    _resolve("--engine", "duckdb")
    placed = {}
    for name in ("duckdb", "cluster"):
        home = tmp_path / name
        shutil.copytree(workspace, home)
        database = Database(f"sqlite:///{home / 'caseline.db'}")
        with database.transaction() as session:
            arrived = session.scalars(
                select(SourceRecord.record_id)
                .where(SourceRecord.source == "tax")
                .order_by(SourceRecord.record_id)
                .limit(40)
            ).all()
            session.execute(delete(PersonRecord).where(PersonRecord.record_id.in_(arrived)))
        engine = (
            SparkEngine(SparkPlace(cluster.master_url, str(staging)))
            if name == "cluster"
            else "duckdb"
        )
        summary = resolve_incrementally(
            database, models_dir=home / "models", threshold=0.8, engine=engine, actor=OPERATOR
        )
        database.dispose()
        assert summary.new_records == 40
        placed[name] = _persons(home)
    assert placed["cluster"] == placed["duckdb"]


def _generated_graph(seed: int = 5) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    """(records, links, vetoes) by record number: cliques and chains of linked records
    (one chain of 40, which label propagation must cross), vetoes inside some of them and
    between others, and records no link names."""
    rng = np.random.default_rng(seed)
    links, start = [], 0
    for size in [40, *rng.integers(2, 12, size=60).tolist()]:
        members = list(range(start, start + size))
        links += list(itertools.pairwise(members))  # a chain...
        if size < 40:  # ...and in the small ones some pairs across it
            links += [(a, b) for a in members for b in members if a < b and rng.random() < 0.3]
        start += size + 2  # two records that nothing links
    links = sorted(set(links))
    weights = rng.uniform(2.0, 25.0, size=len(links)).round(3)
    linked = pd.DataFrame(links, columns=["left", "right"]).assign(weight=weights)
    inside = linked.sample(n=12, random_state=seed)[["left", "right"]]
    across = pd.DataFrame({"left": [5, 0, 85, 200], "right": [30, 300, 400, start - 1]})
    vetoes = pd.concat([inside, across], ignore_index=True).assign(weight=-15.0)
    return start, linked, vetoes


@pytest.mark.spark
def test_the_cluster_finds_the_link_components_scipy_finds_and_the_same_persons(
    cluster: StandaloneCluster, staging: Path
) -> None:
    records, links, vetoes = _generated_graph()
    must_link = pd.DataFrame({"left": [41, 3], "right": [250, 4]})  # joins two; one inside
    cannot_link = pd.DataFrame({"left": [120], "right": [123]})
    spark = _spark_session(SparkPlace(cluster.master_url, str(staging))).spark
    spark.createDataFrame(
        links.rename(columns={"left": "left_id", "right": "right_id"})
    ).createOrReplaceTempView("generated_links")
    spark.createDataFrame(
        vetoes.rename(columns={"left": "left_id", "right": "right_id"})
    ).createOrReplaceTempView("generated_vetoes")

    found = contested_pairs_on_spark(
        spark,
        records,
        "SELECT * FROM generated_links",
        "SELECT * FROM generated_vetoes",
        must_link,
        cannot_link,
    )

    edges = pd.concat([links[["left", "right"]], must_link])
    graph = coo_matrix((np.ones(len(edges)), (edges["left"], edges["right"])), (records, records))
    _count, expected = connected_components(graph, directed=False)

    def partition(labels: np.ndarray) -> set[frozenset[int]]:
        groups: defaultdict[int, set[int]] = defaultdict(set)
        for record, label in enumerate(labels.tolist()):
            groups[label].add(record)
        return {frozenset(group) for group in groups.values()}

    assert partition(found.components.component) == partition(expected)
    contested = {
        frozenset(np.flatnonzero(found.components.component == label).tolist())
        for label in found.components.contested.tolist()
    }
    assert frozenset(range(40)) in contested  # vetoes inside the long chain
    linked_groups = [group for group in partition(expected) if len(group) > 1]
    assert 3 < len(contested) < len(linked_groups)
    # Only the contested components' links come back, and they cluster as every link does.
    assert 0 < len(found.links) < len(links)
    assert set(found.vetoes[["left", "right"]].itertuples(index=False, name=None)) <= set(
        vetoes[["left", "right"]].itertuples(index=False, name=None)
    )
    assert (0, 300) not in set(found.vetoes[["left", "right"]].itertuples(index=False, name=None))
    args = (must_link, cannot_link)
    on_cluster = cluster_components(
        range(records),
        found.components,
        found.links,
        found.vetoes,
        *args,
        outvote=VETOES_OUTVOTED_AT,
    )
    assert on_cluster == cluster_pairs(
        range(records), links, vetoes, *args, outvote=VETOES_OUTVOTED_AT
    )
    assert len(on_cluster) > len(partition(expected))  # some vetoes held
    assert found.rounds < 12


@pytest.mark.spark
def test_the_cluster_reads_the_links_and_vetoes_from_the_scored_pairs_as_the_driver_does(
    cluster: StandaloneCluster, staging: Path
) -> None:
    """The veto rule in Spark SQL (a date of birth on both sides, or evidence against)
    picks the pairs `decisive_pairs` picks, so the persons are the same."""
    rng = np.random.default_rng(3)
    records, prior, threshold = 300, 1e-4, 0.8
    pairs = pd.DataFrame(rng.integers(0, records, size=(3000, 2)), columns=["l", "r"])
    pairs = pairs[pairs["l"] < pairs["r"]].drop_duplicates()
    scored = pd.DataFrame(
        {
            "unique_id_l": pairs["l"].to_numpy(np.int64),
            "unique_id_r": pairs["r"].to_numpy(np.int64),
            "match_weight": rng.uniform(-30.0, 25.0, size=len(pairs)).round(2),
        }
    )
    dated = rng.random(records) < 0.7
    engine = SparkEngine(SparkPlace(cluster.master_url, str(staging)))
    spark = _spark_session(engine.place).spark
    spark.createDataFrame(scored).createOrReplaceTempView("generated_predictions")
    predictions = cast(Any, SimpleNamespace(physical_name="generated_predictions"))
    on_driver = SimpleNamespace(
        misc=SimpleNamespace(query_sql=lambda sql, output_type: spark.sql(sql).toPandas())
    )
    links, against = decisive_pairs(
        cast(Any, on_driver), predictions, threshold, prior, pd.Series(dated)
    )
    none = pd.DataFrame({"left": [], "right": []}, dtype=np.int64)

    found = engine.contested_pairs(
        predictions,
        dated,
        link_weight=match_weight(threshold),
        prior_weight=match_weight(prior),
        must_link=none,
        cannot_link=none,
    )

    assert len(against) and (~dated[against["left"]] | ~dated[against["right"]]).any()
    component = found.components.component
    contested = np.isin(component[against["left"]], found.components.contested) & (
        component[against["left"]] == component[against["right"]]
    )
    assert sorted(found.vetoes[["left", "right"]].itertuples(index=False, name=None)) == sorted(
        against[contested][["left", "right"]].itertuples(index=False, name=None)
    )
    assert cluster_components(
        range(records), found.components, found.links, found.vetoes, none, none, outvote=3
    ) == cluster_pairs(range(records), links, against, none, none, outvote=3)


def test_a_master_nobody_answers_at_is_refused_within_seconds(workspace: Path) -> None:
    master = f"spark://127.0.0.1:{free_port()}"  # free: nothing listens there
    started = time.monotonic()
    result = runner.invoke(app, ["resolve", "--engine", "spark", "--spark-master", master])
    assert result.exit_code == 2
    assert "--spark-master" in result.output
    assert f"no Spark master answers at {master}" in " ".join(result.output.split())
    assert time.monotonic() - started < 60
    assert _persons(workspace) == set()  # nothing resolved


def test_the_master_comes_from_the_settings_and_the_option_only_with_spark(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASELINE_SPARK_MASTER", "mesos://old:5050")
    from_settings = runner.invoke(app, ["resolve", "--engine", "spark"])
    assert from_settings.exit_code == 2
    assert "'mesos://old:5050' is not a Spark master URL" in " ".join(from_settings.output.split())

    on_duckdb = runner.invoke(app, ["resolve", "--spark-master", "spark://127.0.0.1:7077"])
    assert on_duckdb.exit_code == 2
    assert "--spark-master: only the Spark engine runs on a cluster" in on_duckdb.output


@pytest.mark.parametrize(
    ("master", "said"),
    [
        ("spark://127.0.0.1", "is not HOST:PORT"),
        ("http://master:7077", "is not a Spark master URL"),
        ("spark://master.example:7077", "give one with --spark-staging"),
    ],
)
def test_a_master_url_that_cannot_work_is_refused_before_spark_starts(
    master: str, said: str
) -> None:
    with pytest.raises(InputError, match=said) as refused:
        SparkPlace(master)
    assert refused.value.where in {"--spark-master", "--spark-staging"}


def test_the_settings_an_operators_spark_defaults_give_are_left_to_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Caseline's own defaults (a 3 GiB driver, ...) yield to spark-defaults.conf."""
    (tmp_path / "spark-defaults.conf").write_text(
        "# sized for 10M records\nspark.driver.memory   24g\n\nspark.executor.memory\t20g\n"
    )
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    assert _spark_defaults() == {"spark.driver.memory", "spark.executor.memory"}
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path / "none"))
    assert _spark_defaults() == set()
