"""The resolution model: Splink's settings and Caseline's own fields, saved with a version.

Engine-agnostic: it speaks Splink's settings, never a particular SQL engine; an
`engine.Engine` turns settings and records into a linker on DuckDB or Spark. How a model is
learned is `training`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splink import SettingsCreator

from caseline.errors import InputError
from caseline.resolve.blocking import prediction_rules
from caseline.resolve.comparisons import IDENTIFIERS, comparisons
from caseline.resolve.frequencies import SCALES_KEY, scales_of

MODEL_VERSION = "caseline-0.2"
VERSION_KEY = "caseline_model_version"
_OWN_KEYS = "caseline_"  # the prefix of Caseline's own keys in a saved model

# Columns the model reads from the store (features.add_features derives the rest).
STORED_COLUMNS = (
    "unique_id",
    "given_name",
    "middle_name",
    "family_name",
    "suffix",
    "sex",
    "date_of_birth",
    *IDENTIFIERS,
    "identifier_typo_keys",
    "address_key",
    "street_key",
    "postcode",
    "city",
)


@dataclass(frozen=True)
class ResolutionModel:
    """A trained model: Splink's settings (comparisons with their m and u, the prior, the
    blocking rules), as Splink saves a model, and what Caseline keeps beside them.

    Saved as one JSON object, Splink's settings with Caseline's fields as ``caseline_``
    keys, which Splink would not read; a model saved before a field existed loads with its
    default.
    """

    settings: dict[str, Any]
    # Per term-frequency column, the scale of its counts (see `frequencies`); none for a
    # model saved before they were kept, whose counts are taken as they are.
    frequency_scales: Mapping[str, float] = field(default_factory=dict)
    version: str = MODEL_VERSION

    @property
    def prior(self) -> float:
        """The probability that two random records are a match."""
        prior: float = self.settings["probability_two_random_records_match"]
        return prior

    @property
    def frequency_columns(self) -> list[str]:
        """The columns whose term frequencies adjust the model's weights."""
        return sorted(
            {
                level["tf_adjustment_column"]
                for comparison in self.settings["comparisons"]
                for level in comparison["comparison_levels"]
                if level.get("tf_adjustment_column")
            }
        )

    def with_frequency_scales(self, scales: Mapping[str, float]) -> ResolutionModel:
        return dataclasses.replace(self, frequency_scales=scales)

    def as_json(self) -> dict[str, Any]:
        return {
            **self.settings,
            SCALES_KEY: dict(self.frequency_scales),
            VERSION_KEY: self.version,
        }

    @classmethod
    def from_json(cls, saved: Mapping[str, Any]) -> ResolutionModel:
        settings = {k: v for k, v in saved.items() if not k.startswith(_OWN_KEYS)}
        return cls(settings, scales_of(saved), saved.get(VERSION_KEY, MODEL_VERSION))


def model_settings(present: Collection[str]) -> dict[str, Any]:
    """Fresh, untrained Splink settings for records that fill ``present`` columns."""
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=prediction_rules(set(present)),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    created: dict[str, Any] = settings.create_settings_dict(sql_dialect_str="duckdb")
    return created


def match_weight(probability: float) -> float:
    """The match weight (log2 odds) at which Splink's match probability equals ``probability``."""
    return math.log2(probability / (1 - probability))


def save_model(model: ResolutionModel, models_dir: Path, stamp: str) -> Path:
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / f"{model.version}-{stamp}.json"
    path.write_text(json.dumps(model.as_json(), indent=2))
    return path


def load_model(path: Path) -> ResolutionModel:
    """A model saved by `save_model`, checked to be one this version can run."""
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError("no such model file", where=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not a model file ({exc})", where=str(path)) from None
    version = saved.get(VERSION_KEY) if isinstance(saved, dict) else None
    if version != MODEL_VERSION:
        raise InputError(
            f"model version {version!r}; this Caseline runs {MODEL_VERSION!r} (resolve "
            "without --model to train one)",
            where=str(path),
        )
    return ResolutionModel.from_json(saved)
