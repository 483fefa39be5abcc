"""How the model is learned, unsupervised: u from random pairs, the prior, m by EM, then u
and the prior again without the matches among the random pairs.

Engine-agnostic: it speaks Splink's training API over linkers that a caller builds (on
whichever engine) from Splink settings and records.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Collection
from typing import Any

import numpy as np
import pandas as pd
from splink import Linker, block_on
from splink.internals.exceptions import EMTrainingException

from caseline.resolve.comparisons import FIXED_WEIGHTS
from caseline.resolve.engine import PairsToScore
from caseline.resolve.model import ResolutionModel, match_weight, model_settings

logger = logging.getLogger(__name__)
SEED = 20151
U_SAMPLE_PAIRS = 3e6  # random pairs for u: plenty for levels with u near 1e-5
EM_SAMPLE_PAIRS = 2e6  # blocked pairs per EM session; more changes m in the third decimal
PRIOR_SAMPLE_RECORDS = 40_000  # about 8e8 pairs: thousands of matches, even in a large world
PRIOR_STEPS = 20  # iterations solving for the prior; it settles in fewer
# No level may claim certainty: a borrowed SSN or a re-issued passport happens, so every
# level keeps m and u inside these bounds and no single field can outvote all the others.
M_FLOOR, U_FLOOR = 1e-3, 1e-7

# (columns the rule needs, rule): near-certain matches for the prior, strongest first.
PRIOR_RULES = (
    (("ssn_hash", "date_of_birth"), block_on("ssn_hash", "date_of_birth")),
    (("full_name", "date_of_birth"), block_on("full_name", "date_of_birth")),
    (("full_name", "address_key"), block_on("full_name", "address_key")),
)
# Blocks for EM, in order of preference: each leaves its own columns untrained, so two
# blocks on different fields train every comparison.
EM_RULES = (
    (("date_of_birth",), block_on("date_of_birth")),
    (("given_sound", "family_sound"), block_on("given_sound", "family_sound")),
    (("address_key",), block_on("address_key")),
    (("postcode", "family_sound"), block_on("postcode", "family_sound")),
)


# (Splink settings, records, pairs): a linker over the records that will score those
# ``pairs`` (the blocked ones, every one, or none: making them takes time on a large sample).
MakeLinker = Callable[[dict[str, Any], pd.DataFrame, PairsToScore], Linker]


def train(
    make_linker: MakeLinker, records: pd.DataFrame, present: Collection[str]
) -> ResolutionModel:
    """Fit the model unsupervised: u from random pairs (`RandomPairs`), the prior from
    near-certain rules, m by EM, then u and the prior again without the matches among the
    random pairs (see `without_matches`).

    ``make_linker`` builds a linker over some records from Splink settings. ``present``
    names the columns the records fill: a person file may have no date of birth or no
    identifiers, and a rule on an empty column finds no pairs to learn from. Where Splink
    refuses the prior or an EM block on such data, the step is skipped and the model as it
    stood before it is kept (Splink can leave a half-trained linker behind); if EM fails on
    every block the comparisons keep Splink's default m values (a weaker, still usable
    model). Returns the trained model, bounded.
    """
    settings = model_settings(present)
    random_pairs = RandomPairs.of(make_linker, settings, records)
    # EM needs u only to tell likely matches from the rest: the matches among the random
    # pairs count towards this first u, and are set aside once EM has found them.
    linker = make_linker(random_pairs.with_u(settings), records, "none")
    prior_rules = [rule for columns, rule in PRIOR_RULES if set(columns) <= set(present)]
    if prior_rules:
        try:
            linker.training.estimate_probability_two_random_records_match(prior_rules, recall=0.7)
        except ValueError as exc:
            # The rules made more pairs than the recall allows (a few records, most of them
            # one person's): Splink refuses the estimate, and its default prior stands.
            logger.warning("prior not estimated: %s", exc)
    trained = 0
    for columns, rule in EM_RULES:
        if not set(columns) <= set(present) or trained >= 2:
            continue
        before: dict[str, Any] = linker.misc.save_model_to_json()
        try:
            # EM over counts of comparison vectors (term frequencies ignored) converges
            # quickly; prediction still adjusts for how common a name is.
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=EM_SAMPLE_PAIRS, estimate_without_term_frequencies=True
            )
            trained += 1
        except (EMTrainingException, ValueError) as exc:
            # On small or odd data the block holds no pairs (EMTrainingException); or EM
            # drives a level's m to zero, or starts from a prior of zero (no near-certain
            # pairs), and Splink refuses the value (ValueError). The other block still
            # trains the level.
            logger.warning("EM on %s skipped: %s", "+".join(columns), exc)
            linker = make_linker(before, records, "none")
    if trained == 0:
        logger.warning("EM failed on every block; the model keeps default m values")
    model: dict[str, Any] = linker.misc.save_model_to_json()
    return ResolutionModel(bounded(without_matches(make_linker, records, model, random_pairs)))


class RandomPairs:
    """Every pair of a random sample of the records, with the level each pair reaches on
    every comparison: u is a level's share of the pairs that are not null on it.

    The levels are computed once, every comparison in one pass, and counted twice: over
    all the pairs for the u that EM starts from, and without the likely matches EM then
    finds. (Splink's own sampling joins the sample once per comparison, and would run
    again for the second u.)
    """

    def __init__(self, records: pd.DataFrame, pairs: pd.DataFrame) -> None:
        self.records = records  # the sample
        self._pairs = pairs  # left, right, and per comparison each pair's level (-1: null)

    @classmethod
    def of(
        cls, make_linker: MakeLinker, settings: dict[str, Any], records: pd.DataFrame
    ) -> RandomPairs:
        """The pairs of a seeded sample of ``records`` (about `U_SAMPLE_PAIRS` of them),
        compared under ``settings``' comparisons."""
        size = min(len(records), int(math.sqrt(2 * U_SAMPLE_PAIRS)) + 1)
        sample = records.sample(n=size, random_state=SEED)
        linker = make_linker(_levels_as_weights(settings), sample, "every")
        prefix = settings.get("match_weight_column_prefix", "mw_")
        names = [comparison["output_column_name"] for comparison in settings["comparisons"]]
        # Unquoted: a quoted name is a string literal in Spark's SQL.
        weights = ", ".join(f"{prefix}{name}" for name in names)
        table = linker.inference.predict().physical_name
        scored = linker.misc.query_sql(
            f"SELECT unique_id_l, unique_id_r, {weights} FROM {table}",  # noqa: S608 (Splink's table, the model's names)
            output_type="pandas",
        )
        levels = {
            name: np.rint(scored[f"{prefix}{name}"].to_numpy(float)).astype(np.int8) - 1
            for name in names
        }
        pairs = pd.DataFrame(
            {"left": scored["unique_id_l"].to_numpy(), "right": scored["unique_id_r"].to_numpy()}
            | levels
        )
        return cls(sample, pairs)

    def with_u(self, model: dict[str, Any], without: Collection[Any] = ()) -> dict[str, Any]:
        """``model`` with u counted on the pairs that hold none of the records ``without``;
        a level no such pair reached keeps the u it had (or none)."""
        aside = np.asarray(list(without))
        kept = ~(self._pairs["left"].isin(aside) | self._pairs["right"].isin(aside)).to_numpy()
        out = copy.deepcopy(model)
        for comparison in out["comparisons"]:
            levels = [c for c in comparison["comparison_levels"] if not c.get("is_null_level")]
            reached = self._pairs[comparison["output_column_name"]].to_numpy()[kept]
            counts = np.bincount(reached[reached >= 0], minlength=len(levels))
            for level, count in zip(levels, counts, strict=True):
                if count:
                    level["u_probability"] = float(count / counts.sum())
        return out

    def __len__(self) -> int:
        return len(self._pairs)


def _levels_as_weights(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` under which each comparison's match weight is the number of the level a
    pair reached (1 for the first non-null level, 2 for the next; 0 for null): each level's
    m is 2**number times its u. Term frequencies are left out, as u ignores them."""
    out = copy.deepcopy(settings)
    out["retain_intermediate_calculation_columns"] = True
    out["probability_two_random_records_match"] = 0.5
    for comparison in out["comparisons"]:
        number = 0
        for level in comparison["comparison_levels"]:
            for key in [k for k in level if k.startswith("tf_")]:
                del level[key]
            if not level.get("is_null_level"):
                number += 1
                level["u_probability"] = 2.0**-32
                level["m_probability"] = 2.0 ** (number - 32)
    return out


def without_matches(
    make_linker: MakeLinker,
    records: pd.DataFrame,
    trained: dict[str, Any],
    random_pairs: RandomPairs,
) -> dict[str, Any]:
    """The ``trained`` model, bounded, with u counted again on the random pairs without
    the likely matches among them, and the prior as the share of random pairs that match.

    Random sampling counts every pair towards u, the matches among them too. Where records
    repeat a person often (a file of duplicates, a person seen by many agencies) those
    matches are most of the random pairs that agree on an identifier or a whole name, so u
    comes out far too large and the strongest evidence counts as weak. So the sampled
    records are scored
    with the trained model (only the pairs blocking proposes: a pair that shares no key is
    no likely match), one record of each likely match is set aside, and u is counted again
    on the pairs of the rest. The prior is, by definition, the mean match probability of
    random pairs; it is solved for on a wider sample (`PRIOR_SAMPLE_RECORDS`), whose blocked
    pairs are cheap to score and hold enough matches to count even in a large world.
    """
    model = bounded(trained)
    sample = random_pairs.records
    aside = _one_of_each_match(_scored_pairs(make_linker(model, sample, "blocked")))
    kept = len(sample) - len(aside)
    recounted = random_pairs.with_u(_without_u(model, trained), without=aside)
    # A level no pair reached is rarer than this many pairs can measure.
    recounted = _with_u_where_missing(recounted, 2 / max(kept * (kept - 1), 2))
    # The prior from more records than u needs: in a large world the u sample holds a few
    # dozen matching pairs, too few to count the share by.
    wide = records.sample(n=min(len(records), PRIOR_SAMPLE_RECORDS), random_state=SEED)
    scored_with = recounted["probability_two_random_records_match"]
    recounted["probability_two_random_records_match"] = _share_of_matches(
        _scored_pairs(make_linker(recounted, wide, "blocked")), len(wide), scored_with
    )
    return recounted


def _without_u(model: dict[str, Any], trained: dict[str, Any]) -> dict[str, Any]:
    """``model`` with no u on the levels whose m training learned (in ``trained``, before
    bounding), so that counting sets each u anew: a level keeps its old u where no
    random pair reached it. That includes levels whose u the first sample never measured
    (an agreeing A-number is too rare for the random pairs), which `bounded` gave the u of
    their m, i.e. no weight at all. A level with no learned m keeps that: nothing taught it."""
    out = copy.deepcopy(model)
    for comparison, learned in zip(out["comparisons"], trained["comparisons"], strict=True):
        levels = zip(comparison["comparison_levels"], learned["comparison_levels"], strict=True)
        for level, before in levels:
            if not level.get("is_null_level") and _known(before.get("m_probability")):
                level.pop("u_probability", None)
    return out


def _with_u_where_missing(model: dict[str, Any], u: float) -> dict[str, Any]:
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level") and _known(level.get("u_probability")) is None:
                level["u_probability"] = u
    return model


def _scored_pairs(linker: Linker) -> pd.DataFrame:
    """(left, right, match weight) of every pair blocking proposes among the linker's records."""
    table = linker.inference.predict().physical_name
    return linker.misc.query_sql(
        f"SELECT unique_id_l AS left, unique_id_r AS right, match_weight AS weight FROM {table}",  # noqa: S608 (Splink's table)
        output_type="pandas",
    )


def _one_of_each_match(pairs: pd.DataFrame) -> set[Any]:
    """Records to set aside so that no two kept ones are more likely a match than not."""
    aside: set[Any] = set()
    # In a fixed order: the engine returns pairs in any order, and training is reproducible.
    likely = pairs[pairs["weight"] > 0].sort_values(["weight", "left", "right"], ascending=False)
    for left, right in likely[["left", "right"]].itertuples(index=False):
        if left not in aside and right not in aside:
            aside.add(right)
    return aside


def _share_of_matches(pairs: pd.DataFrame, records: int, scored_with: float) -> float:
    """The prior λ that equals the mean match probability of all pairs of ``records``
    records, given the ``pairs`` blocking proposed, scored with prior ``scored_with`` (the
    rest, sharing no key, count as non-matches). λ appears on both sides; iterating from
    the trained prior settles within a few steps."""
    total = records * (records - 1) / 2
    evidence = pairs["weight"].to_numpy(float) - match_weight(scored_with)  # Bayes factors
    prior = scored_with
    for _ in range(PRIOR_STEPS):
        prior = float((1 / (1 + np.exp2(-(evidence + match_weight(prior))))).sum() / total)
        prior = min(max(prior, 1 / total), 0.5)
    return prior


def bounded(model: dict[str, Any]) -> dict[str, Any]:
    """The model with its prior kept off 0 and 1, the fixed weights set, and every other
    level's m and u floored; a level that training never saw (no m or no u) counts for
    nothing either way."""
    out = copy.deepcopy(model)
    prior = out.get("probability_two_random_records_match", 1e-4)
    out["probability_two_random_records_match"] = min(max(prior, 1e-9), 0.5)
    for comparison in out["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = _known(level.get("m_probability")), _known(level.get("u_probability"))
            fixed = FIXED_WEIGHTS.get((comparison["output_column_name"], level["label_for_charts"]))
            if fixed is not None:
                u = u or 0.5
                level["m_probability"], level["u_probability"] = u * 2**fixed, u
            elif m is None or u is None:
                level["m_probability"] = level["u_probability"] = m or u or 0.5
            else:
                level["m_probability"], level["u_probability"] = max(m, M_FLOOR), max(u, U_FLOOR)
    return out


def _known(value: object) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value) and value > 0:
        return float(value)
    return None
