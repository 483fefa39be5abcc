"""The linkage model: which fields are compared, how pairs are blocked, how it is trained.

Engine-agnostic: it speaks Splink's comparison library, never a particular SQL engine.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import splink.comparison_library as cl
from splink import SettingsCreator, block_on

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


def train(linker: Any, present: Collection[str]) -> None:
    """Fit the model unsupervised: prior from near-certain rules, u by sampling, m by EM.

    ``present`` names the columns the records actually fill: a person file may have no date
    of birth or no identifiers, and a rule on an empty column finds no pairs to learn from.
    Rules are tried in order of strength; one that fails is skipped, and if EM fails on every
    block the comparisons keep Splink's default m values (a weaker, still usable model).
    """
    prior_rules = [r for cols, r in PRIOR_RULES if set(cols) <= set(present)]
    if prior_rules:
        try:
            linker.training.estimate_probability_two_random_records_match(prior_rules, recall=0.7)
        except Exception as exc:  # Splink raises several kinds; the default prior stands
            logger.warning("prior not estimated: %s", exc)
    _keep_prior_inside(linker, low=1e-9, high=0.5)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=SEED)
    trained = 0
    for columns, rule in EM_RULES:
        if not set(columns) <= set(present) or trained >= 2:
            continue
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
            trained += 1
        except Exception as exc:
            # On small or odd data a block can hold no pairs, or a level be unseen so EM drives
            # its m to zero, which Splink refuses; the other blocks still estimate those m.
            logger.warning("EM on %s skipped: %s", "+".join(columns), exc)
    if trained == 0:
        logger.warning("EM failed on every block; the model keeps default m values")


def _keep_prior_inside(linker: Any, *, low: float, high: float) -> None:
    """A prior of 0 (no pair met the strict rules) or 1 makes every match weight infinite,
    and prediction fails; clamp it. Splink exposes the prior only on its settings object."""
    settings = linker._settings_obj
    prior = settings._probability_two_random_records_match
    if not low <= prior <= high:
        clamped = min(max(prior, low), high)
        logger.warning("prior %s is out of range; using %s", prior, clamped)
        settings._probability_two_random_records_match = clamped


# (columns the rule needs, rule): near-certain matches for the prior, strongest first.
PRIOR_RULES = (
    (("ssn_hash", "date_of_birth"), block_on("ssn_hash", "date_of_birth")),
    (("given_name", "family_name", "date_of_birth"),
     block_on("given_name", "family_name", "date_of_birth")),
    (("given_name", "family_name", "address_key"),
     block_on("given_name", "family_name", "address_key")),
)  # fmt: skip
# Blocks for EM, in order of preference; two that work are enough (each leaves its own
# columns untrained, the other trains them).
EM_RULES = (
    (("date_of_birth",), block_on("date_of_birth")),
    (("family_name", "given_name"), block_on("family_name", "given_name")),
    (("address_key",), block_on("address_key")),
    (("city", "family_name"), block_on("city", "family_name")),
)
