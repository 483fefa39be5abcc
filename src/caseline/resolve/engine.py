"""The only module that knows which SQL engine runs the model (DuckDB, embedded)."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from splink import DuckDBAPI, Linker, SettingsCreator

from caseline.errors import InputError

ENGINES = ("duckdb",)


def create_linker(
    records: pd.DataFrame, settings: SettingsCreator | dict[str, Any], engine: str
) -> Any:
    """A Splink linker over ``records`` on the chosen engine."""
    if engine not in ENGINES:
        raise InputError(
            f"unknown engine {engine!r}; available: {', '.join(ENGINES)}", where="--engine"
        )
    db_api = DuckDBAPI()
    frame = db_api.register(records, dataset_display_name="records")
    return Linker(frame, settings, log_level=logging.ERROR)


def to_pandas(splink_frame: Any) -> pd.DataFrame:
    return splink_frame.as_pandas_dataframe()
