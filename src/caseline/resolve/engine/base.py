"""`Engine`: where a model's SQL runs, behind one small type (as Splink's `DatabaseAPI`).

An engine registers records with a Splink database API of its own (`_register_records`);
everything else a linker needs is the same for every engine: the pairs it scores (made by
Caseline's SQL, written in DuckDB's dialect and translated), term frequencies counted
elsewhere, and the pairs inside groups that scoring left out.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from splink import Linker, SettingsCreator

from caseline.resolve.engine.dialect import MODEL_DIALECT, in_dialect, translate
from caseline.resolve.engine.pairs import (
    blocked_pairs_sql,
    every_pair_sql,
    only_pairs_with_new_records,
    unscored_within_sql,
)

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame

    from caseline.resolve.engine.kept_records import KeptRecords
    from caseline.resolve.engine.spark_components import ContestedPairs

# The pairs a new linker scores: its blocking rules' pairs, every pair of its records, none.
PairsToScore = Literal["blocked", "every", "none"]


class Engine(ABC):
    """An SQL engine that runs Splink linkers: DuckDB, embedded, or Spark."""

    name: ClassVar[str]  # as the command line names it; also the dialect of its SQL

    @abstractmethod
    def _register_records(self, records: pd.DataFrame) -> SplinkDataFrame:
        """``records`` registered with a new Splink database API on this engine."""

    def create_linker(
        self,
        records: pd.DataFrame,
        settings: SettingsCreator | dict[str, Any],
        *,
        validate: bool = True,
        pairs: PairsToScore = "blocked",
        frequencies: Mapping[str, pd.DataFrame] | None = None,
    ) -> Linker:
        """A Splink linker over ``records`` on this engine.

        ``validate``: Splink checks the settings' SQL first (slow for Caseline's model).
        ``pairs``: the pairs it scores next, made and registered now: those the
        settings' blocking rules make, every pair of the records (a random sample's, for
        u), or none. ``frequencies``: term-frequency tables by column, counted over every
        record rather than over the linker's own input (which, on the incremental path, is
        a sample biased towards the new records' names).
        """
        rules: list[dict[str, Any]] = []
        if isinstance(settings, dict):
            rules = in_dialect(settings, MODEL_DIALECT).get(
                "blocking_rules_to_generate_predictions", []
            )
            settings = in_dialect(settings, self.name)
        frame = self._register_records(records)
        linker = Linker(frame, settings, log_level=logging.ERROR, validate_settings=validate)
        if pairs == "every":
            self._register_pairs(linker, every_pair_sql(frame.physical_name))
        elif rules and pairs == "blocked":
            self._register_pairs(linker, blocked_pairs_sql(rules, frame.physical_name))
        for column, table in (frequencies or {}).items():
            registered = frame.db_api.register(table)
            linker.table_management.register_term_frequency_lookup(registered, column)
        return linker

    def score_unscored_within(
        self, linker: Linker, predictions: SplinkDataFrame, groups: pd.DataFrame
    ) -> pd.DataFrame:
        """(left, right, weight) for each pair of records in one group (``groups``: columns
        unique_id and group) that the linker's ``predictions`` lack, scored by that linker:
        the same model and the same term frequencies as the pairs it scored before."""
        members = predictions.db_api.register(groups).physical_name
        self._register_pairs(linker, unscored_within_sql(members, predictions.physical_name))
        scored = linker.inference.predict()
        pairs: pd.DataFrame = linker.misc.query_sql(
            "SELECT unique_id_l AS left, unique_id_r AS right, match_weight AS weight "  # noqa: S608
            f"FROM {scored.physical_name}",
            output_type="pandas",
        )
        return pairs.astype({"left": np.int64, "right": np.int64, "weight": float})

    def contested_pairs(
        self,
        predictions: SplinkDataFrame,
        dated: np.ndarray,
        *,
        link_weight: float,
        prior_weight: float,
        must_link: pd.DataFrame,
        cannot_link: pd.DataFrame,
    ) -> ContestedPairs | None:
        """The links' components found where the scored pairs are, with the pairs inside
        the contested ones, for an engine whose pairs live on a cluster (Spark); None (here):
        the driver finds the components from the decisive pairs it already holds."""
        return None

    def prepare_for_batches(  # noqa: B027 (a hook: an engine that blocks batches needs nothing)
        self, kept: KeptRecords, settings: dict[str, Any]
    ) -> None:
        """Build now what scoring a batch of ``kept`` with ``settings`` needs, rather than
        for the first batch (nothing, unless the engine scores batches in place)."""

    def linker_for_batch(self, kept: KeptRecords, settings: dict[str, Any]) -> Linker:
        """A linker over the batch ``kept`` holds that scores the pairs with a new record in
        them that a blocking rule of ``settings`` makes: here the batch is handed over as a
        frame and blocked by the engine, with the batch's term frequencies."""
        return self.create_linker(
            kept.batch_frame(),
            only_pairs_with_new_records(settings),
            validate=False,
            frequencies=kept.frequencies(),
        )

    def _register_pairs(self, linker: Linker, sql: str) -> None:
        """Make the pairs ``sql`` (DuckDB's dialect) selects from the linker's input, as
        Splink's table of blocked pairs, and hand them to the linker to score next."""
        if self.name != MODEL_DIALECT:
            sql = translate(sql, MODEL_DIALECT, self.name)
        pairs = linker.misc.query_sql(sql, output_type="splink_df")
        registered = linker.table_management.register_blocked_pairs_for_predict(pairs)
        # Marked as registered, Splink's DuckDB path first copies out each side's records of
        # every pair (for pairs made elsewhere, over inputs far larger than memory); these
        # were made from the linker's own input, which it scores in place, as its own blocking.
        registered.metadata["registered_for_predict"] = False
