"""Pairs of records that are two people whatever their names say: facts that conflict.

The cross-check (see crosscheck) scores the pairs inside a candidate person that blocking
never made, and lets one veto only when its evidence against is overwhelming, since two
records of one person can share little. That spares true persons, but not namesakes: two
DUONG HAI HOANGs born 32 years apart, with two social security numbers, score as a common
name against a date and a number (about -4 bits of evidence), and an undated record
bearing that name links to both. Their pairs are not weak evidence, they are conflicts:

- the dates of birth differ in the year *and* the day, and by more than a day (a typo
  keeps the year or the day; a day off turns both only at a new year; an exchanged day
  and month keeps the year), and
- the records also hold numbers of one kind that differ beyond a slip of the pen (they
  share neither half key; see standardise.half_keys), or middle names that begin with
  different letters (neither the other's given initial, which a swap would give).

A person's records can hold one such conflict through an error (a wrongly recorded date, a
borrowed number), and a file of deliberately corrupted duplicates (Febrl) both at once; so
the check lets a conflicting pair veto only where its evidence is against at all, which a
shared name and address outweigh. Pure numpy over the records' columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseline.resolve.comparisons import IDENTIFIERS, half_key_columns


def different_people(records: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """For each pair (positions ``left[i]``, ``right[i]`` in ``records``, the records with
    their derived columns): whether its records conflict as two people's would."""
    conflict: np.ndarray = _dates_conflict(records, left, right) & (
        _numbers_conflict(records, left, right) | _middle_names_conflict(records, left, right)
    )
    return conflict


def _dates_conflict(records: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    born = pd.to_datetime(records["date_of_birth"], format="%Y-%m-%d", errors="coerce")
    days = born.to_numpy("datetime64[D]")
    year, day = born.dt.year.to_numpy(), born.dt.day.to_numpy()
    dated = ~np.isnat(days[left]) & ~np.isnat(days[right])
    apart = np.abs((days[left] - days[right]).astype(np.int64)) > 1
    conflict: np.ndarray = dated & apart & (year[left] != year[right]) & (day[left] != day[right])
    return conflict


def _numbers_conflict(records: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    conflict = np.zeros(len(left), dtype=bool)
    for identifier in IDENTIFIERS:
        if identifier not in records:
            continue
        codes = pd.factorize(records[identifier], use_na_sentinel=True)[0]
        differ = (codes[left] >= 0) & (codes[right] >= 0) & (codes[left] != codes[right])
        for half in half_key_columns(identifier):
            if half in records:  # records stored before the half keys: any difference
                keys = pd.to_numeric(records[half]).to_numpy("float64", na_value=np.nan)
                differ &= ~(keys[left] == keys[right])
        conflict |= differ
    return conflict


def _middle_names_conflict(
    records: pd.DataFrame, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    def initials(column: str) -> np.ndarray:
        names = records[column].astype(object).where(records[column].notna(), "")
        found: np.ndarray = names.str[:1].to_numpy(dtype=object)
        return found

    middle, given = initials("middle_name"), initials("given_first")
    conflict: np.ndarray = (
        (middle[left] != "")
        & (middle[right] != "")
        & (middle[left] != middle[right])
        & (middle[left] != given[right])
        & (middle[right] != given[left])
    )
    return conflict
