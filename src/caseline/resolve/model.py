"""The linkage model: which fields are compared, how pairs are blocked, how it is trained.

Engine-agnostic: it speaks Splink's comparison library, never a particular SQL engine.
"""

from __future__ import annotations

import logging
from typing import Any

import splink.comparison_library as cl
from splink import SettingsCreator, block_on

from caseline.errors import StateError

logger = logging.getLogger(__name__)
MODEL_VERSION = "caseline-0.1"
SEED = 20151

# Columns the model reads; the record frame handed to the engine has exactly these.
MODEL_COLUMNS = (
    "unique_id",
    "given_name",
    "middle_name",
    "family_name",
    "date_of_birth",
    "ssn_hash",
    "itin_hash",
    "a_number_hash",
    "passport_hash",
    "licence_hash",
    "other_id_hash",
    "address_key",
    "postcode",
    "city",
)

PREDICTION_BLOCKING_RULES = (
    block_on("date_of_birth"),
    block_on("family_name", "given_name"),
    block_on("ssn_hash"),
    block_on("itin_hash"),
    block_on("a_number_hash"),
    block_on("passport_hash"),
    block_on("licence_hash"),
    block_on("other_id_hash"),
    block_on("address_key"),
    block_on("postcode", "family_name"),
)


def model_settings() -> SettingsCreator:
    """A fresh, untrained model description."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("family_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
            cl.ExactMatch("ssn_hash"),
            cl.ExactMatch("itin_hash"),
            cl.ExactMatch("a_number_hash"),
            cl.ExactMatch("passport_hash"),
            cl.ExactMatch("licence_hash"),
            cl.ExactMatch("other_id_hash"),
            cl.ExactMatch("address_key").configure(term_frequency_adjustments=True),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=list(PREDICTION_BLOCKING_RULES),
        retain_intermediate_calculation_columns=True,
    )


def train(linker: Any) -> None:
    """Fit the model unsupervised: prior from near-certain rules, u by sampling, m by EM."""
    linker.training.estimate_probability_two_random_records_match(
        [
            block_on("ssn_hash", "date_of_birth"),
            block_on("given_name", "family_name", "date_of_birth"),
        ],
        recall=0.7,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=SEED)
    trained = 0
    for rule in EM_BLOCKING_RULES:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
            trained += 1
        except ValueError as exc:
            # On small or odd data a level can be unseen in a block and EM drives its m to
            # zero, which Splink refuses; the other blocks still estimate those parameters.
            logger.warning(
                "EM on %s skipped: %s", rule.get_blocking_rule("duckdb").blocking_rule_sql, exc
            )
    if trained == 0:
        raise StateError(
            "the model could not be trained on these records (EM failed on every block)"
        )


EM_BLOCKING_RULES = (
    block_on("date_of_birth"),
    block_on("family_name", "given_name"),
)
