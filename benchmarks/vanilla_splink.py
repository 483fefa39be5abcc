"""Vanilla Splink as its tutorial configures a dedupe: the contestant benchmarks/resolution.py
runs beside Caseline (settings, training recipe, and one run from the model frame)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import splink.comparison_library as cl
from rich.console import Console
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from caseline.resolve.comparisons import IDENTIFIERS

console = Console(highlight=False, soft_wrap=True)

# Splink's documented training recipe: "For large datasets, we recommend using at least
# 10 million" random pairs for u (tutorial 4; the 50k example uses 1e7), and tutorial 5
# predicts with threshold_match_probability=0.1 before clustering.
SPLINK_U_PAIRS = 1e7
SPLINK_PREDICT_FLOOR = 0.1


def write_assignments(path: Path, record_ids: Any, persons: Any) -> None:
    pq.write_table(pa.table({"unique_id": record_ids, "person": persons}), path)


# --- contestant (a): vanilla Splink ---------------------------------------------------------


def filled_identifiers(frame: pd.DataFrame) -> list[str]:
    return [column for column in IDENTIFIERS if frame[column].notna().any()]


def vanilla_settings(identifiers: list[str]) -> SettingsCreator:
    """Splink's dedupe as its tutorial configures one, on Caseline's input columns.

    Follows Splink 5's tutorial (docs/demos/tutorials/04_Estimating_model_parameters.ipynb
    and 05_Predicting_results.ipynb) and its dedupe example deduplicate_50k_synthetic.ipynb:
    NameComparison on the given and the family name (it sets term frequency adjustments on
    its exact level itself), DateOfBirthComparison on the ISO date string, ExactMatch on each
    identifier the records fill, ExactMatch on postcode (PostcodeComparison's levels parse
    UK postcodes; these are ZIP codes) and on city with term frequency adjustments. Blocking
    on exact keys as the tutorial does, identifiers among them as the tutorial's email.
    Intermediate columns are not retained (Splink's default; the tutorial keeps them only
    for its charts, which this benchmark does not draw).
    """
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("family_name"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
            *(cl.ExactMatch(column) for column in identifiers),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "family_name"),
            block_on("date_of_birth"),
            block_on("postcode", "family_name"),
            block_on("postcode", "given_name"),
            *(block_on(column) for column in identifiers),
        ],
    )


def vanilla_linker(frame: pd.DataFrame) -> Any:
    db_api = DuckDBAPI()
    return Linker(
        db_api.register(frame), vanilla_settings(filled_identifiers(frame)), log_level=logging.ERROR
    )


def train_vanilla(linker: Any, dated: bool = True) -> None:
    """Training as Splink documents it: the prior from deterministic rules (the 50k example's,
    with its recall of 0.6), u by random sampling, then m by EM on first name and surname
    and on date of birth (tutorial 4, without term frequencies as the 50k example). Records
    with no date of birth (``dated`` false, see --blank) train on postcode instead, as a
    user would: EM on an empty column stops with no pairs."""
    linker.training.estimate_probability_two_random_records_match(
        [
            block_on("given_name", "family_name", "date_of_birth"),
            block_on("substr(given_name,1,2)", "family_name", "substr(postcode,1,2)"),
            block_on("date_of_birth", "postcode"),
        ],
        recall=0.6,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=SPLINK_U_PAIRS)
    second = block_on("date_of_birth") if dated else block_on("postcode")
    for rule in (block_on("given_name", "family_name"), second):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )


def run_vanilla(frame_path: Path, threshold: float, out: Path) -> dict[str, Any]:
    start = time.perf_counter()
    frame = pd.read_parquet(frame_path)
    linker = vanilla_linker(frame)
    console.print("  training the model")
    train_vanilla(linker, dated=bool(frame["date_of_birth"].notna().any()))
    console.print("  scoring candidate pairs")
    predictions = linker.inference.predict(threshold_match_probability=SPLINK_PREDICT_FLOOR)
    console.print("  clustering")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    seconds = time.perf_counter() - start
    assigned = clusters.as_duckdbpyrelation().select("unique_id", "cluster_id").to_arrow_table()
    write_assignments(out, assigned["unique_id"], assigned["cluster_id"].cast(pa.string()))
    return {"seconds": seconds}


# --- contestant (b): Caseline ---------------------------------------------------------------
