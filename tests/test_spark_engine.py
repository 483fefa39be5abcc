"""Spark runs the same model as DuckDB and finds the same persons.

The parity test resolves about 5,000 records on DuckDB (training and saving the model), then
on Spark in local mode with that saved model, and compares the persons record for record.
It needs Java and pyspark; CI installs both, so it is never skipped.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, select

from caseline.config import Settings, load_settings
from caseline.db import Database, upgrade_to_head
from caseline.db.models import PersonRecord, SourceRecord
from caseline.errors import InputError
from caseline.resolve import resolve_incrementally, resolve_persons
from caseline.resolve.engine import engine_named
from caseline.resolve.engine.dialect import in_dialect
from caseline.resolve.engine.spark import SPARK_SIMILARITIES, pairwise
from caseline.resolve.features import add_features
from caseline.resolve.linking import train_model
from caseline.resolve.records import load_model_frame
from caseline.synth import generate_world
from tests.conftest import OPERATOR, load_world


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Database]]:
    """About 5,000 records from 600 persons, ingested into a SQLite workspace."""
    home = tmp_path_factory.mktemp("spark-parity")
    url = f"sqlite:///{home / 'caseline.db'}"
    upgrade_to_head(url)
    settings = load_settings(home=home, database_url=url)
    database = Database(url)
    load_world(database, settings, generate_world(600, seed=11, out_dir=home / "world"))
    yield settings, database
    database.dispose()


def _persons(database: Database) -> set[frozenset[str]]:
    members: defaultdict[str, set[str]] = defaultdict(set)
    with database.transaction() as session:
        for record_id, person_id in session.execute(
            select(PersonRecord.record_id, PersonRecord.person_id)
        ):
            members[person_id].add(record_id)
    return {frozenset(records) for records in members.values()}


@pytest.mark.spark
def test_spark_finds_the_same_persons_as_duckdb_with_the_same_model(
    workspace: tuple[Settings, Database],
) -> None:
    settings, database = workspace
    on_duckdb = resolve_persons(
        database,
        models_dir=settings.models_dir,
        threshold=settings.match_threshold,
        engine="duckdb",
        actor=OPERATOR,
    )
    duckdb_persons = _persons(database)
    on_spark = resolve_persons(
        database,
        models_dir=settings.models_dir,
        threshold=settings.match_threshold,
        engine="spark",
        model_path=on_duckdb.model_path,
        actor=OPERATOR,
    )
    spark_persons = _persons(database)

    assert on_duckdb.records >= 4_500
    assert on_spark.engine == "spark"
    assert on_spark.model_path == on_duckdb.model_path
    assert on_spark.records == on_duckdb.records
    assert spark_persons == duckdb_persons
    assert on_spark.merges == on_spark.splits == 0


def test_an_unknown_engine_is_refused_naming_the_option() -> None:
    with pytest.raises(InputError, match="duckdb, spark") as refused:
        engine_named("sparkle")
    assert refused.value.where == "--engine"


def test_a_duckdb_model_is_rewritten_in_sparks_dialect_and_back() -> None:
    """Splink ignores a model's dialect: DuckDB's "x_l" = "x_r" would be two literals on Spark."""
    duckdb_model = {
        "comparisons": [
            {
                "comparison_levels": [
                    {"sql_condition": '"name_l" IS NULL OR "name_r" IS NULL'},
                    {"sql_condition": '"name_l" = "name_r"'},
                    {"sql_condition": 'jaro_winkler_similarity("name_l", "name_r") >= 0.88'},
                    {"sql_condition": 'array_length(list_intersect("f_l", "f_r")) >= 1'},
                    {"sql_condition": "ELSE"},
                ]
            }
        ],
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": 'l."dob" = r."dob"', "sql_dialect": "duckdb"}
        ],
    }
    spark_model = in_dialect(duckdb_model, "spark")
    levels = [lvl["sql_condition"] for lvl in spark_model["comparisons"][0]["comparison_levels"]]
    assert levels == [
        "`name_l` IS NULL OR `name_r` IS NULL",
        "`name_l` = `name_r`",
        "JARO_WINKLER(`name_l`, `name_r`) >= 0.88",
        "SIZE(ARRAY_INTERSECT(`f_l`, `f_r`)) >= 1",
        "ELSE",
    ]
    assert spark_model["blocking_rules_to_generate_predictions"] == [
        {"blocking_rule": "l.`dob` = r.`dob`", "sql_dialect": "spark"}
    ]
    assert spark_model["sql_dialect"] == "spark"

    back = in_dialect(spark_model, "duckdb")
    again = [lvl["sql_condition"] for lvl in back["comparisons"][0]["comparison_levels"]]
    assert again[2] == 'JARO_WINKLER_SIMILARITY("name_l", "name_r") >= 0.88'
    assert duckdb_model["comparisons"][0]["comparison_levels"][1]["sql_condition"] == (
        '"name_l" = "name_r"'
    )  # the caller's model is left as it was


DUCKDB_NAMES = {
    "jaro_winkler": "jaro_winkler_similarity",
    "jaro_sim": "jaro_similarity",
    "damerau_levenshtein": "damerau_levenshtein",
}


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("SHEPHERD", "SHCPHERD"),  # Splink's Spark JAR: 0.876, below 0.88; DuckDB: 0.895
        ("AALAM", "AL MAOUCHE"),
        ("ABDERRAHRNMANE", "ABDARRAHMANE"),
        ("MARTHA", "MARHTA"),
        ("", "A"),
        (None, "A"),
    ],
)
def test_the_similarities_spark_runs_agree_with_duckdb(left: str | None, right: str) -> None:
    """The Python UDFs that replace the JAR's on Spark compute what DuckDB computes."""
    for spark_name, similarity in SPARK_SIMILARITIES.items():
        duckdb_name = DUCKDB_NAMES[spark_name]
        expected = duckdb.execute(f"SELECT {duckdb_name}($1, $2)", [left, right]).fetchall()[0][0]
        computed = pairwise(similarity)(pd.Series([left]), pd.Series([right]))[0]
        if expected is None:
            assert computed is pd.NA, spark_name
        else:
            assert computed == pytest.approx(expected, abs=1e-12), spark_name


@pytest.mark.spark
def test_a_model_trained_on_spark_weighs_every_level_as_one_trained_on_duckdb(
    workspace: tuple[Settings, Database],
) -> None:
    """Training reads each random pair's levels off a query of its own (see model.RandomPairs);
    on Spark a quoted column name in it read as a string, and training stopped."""
    _settings, database = workspace
    with database.transaction() as session:
        frame = add_features(load_model_frame(session)).sample(n=800, random_state=5)
    numbered = frame.assign(unique_id=np.arange(len(frame), dtype=np.int64))
    trained = {
        name: train_model(numbered, engine_named(name)).settings for name in ("duckdb", "spark")
    }
    assert trained["spark"]["probability_two_random_records_match"] == pytest.approx(
        trained["duckdb"]["probability_two_random_records_match"], rel=1e-6
    )
    for on_duckdb, on_spark in zip(
        trained["duckdb"]["comparisons"], trained["spark"]["comparisons"], strict=True
    ):
        for level, same in zip(
            on_duckdb["comparison_levels"], on_spark["comparison_levels"], strict=True
        ):
            for probability in ("m_probability", "u_probability"):
                expected = level.get(probability)
                if isinstance(expected, float):
                    expected = pytest.approx(expected, rel=1e-6)
                assert same.get(probability) == expected, (level["label_for_charts"], probability)


@pytest.mark.spark
def test_spark_places_new_records_as_duckdb_does(
    workspace: tuple[Settings, Database], tmp_path: Path
) -> None:
    """Incremental placement hands Spark the batch as a frame; its list columns came back
    from DuckDB holding pandas' NA, and placing on Spark failed. Fifty tax records are taken
    out of their persons in two copies of the resolved workspace, one placed on each engine."""
    settings, database = workspace
    if not _persons(database):  # the parity test resolves it too; each test stands alone
        resolve_persons(
            database,
            models_dir=settings.models_dir,
            threshold=settings.match_threshold,
            actor=OPERATOR,
        )
    persons = {}
    for name in ("duckdb", "spark"):
        home = tmp_path / name
        shutil.copytree(settings.home, home)
        copy = Database(f"sqlite:///{home / 'caseline.db'}")
        with copy.transaction() as session:
            arrived = session.scalars(
                select(SourceRecord.record_id)
                .where(SourceRecord.source == "tax")
                .order_by(SourceRecord.record_id)
                .limit(50)
            ).all()
            session.execute(delete(PersonRecord).where(PersonRecord.record_id.in_(arrived)))
        summary = resolve_incrementally(
            copy,
            models_dir=home / settings.models_dir.relative_to(settings.home),
            threshold=settings.match_threshold,
            engine=name,
            actor=OPERATOR,
        )
        assert summary.new_records == 50
        persons[name] = _persons(copy)
        copy.dispose()
    assert persons["spark"] == persons["duckdb"]
