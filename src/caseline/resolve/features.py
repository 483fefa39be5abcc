"""Derived columns the model compares and blocks on, computed once per distinct value.

The record store holds names and dates as standardised; resolution also needs the forms in
which two spellings of one person meet: a sound key (MOHAMMED / MUHAMMAD -> MHMT), the
names a given name may be written as (BILL ~ WILLIAM), the compound-surname key
(GARCIA LOPEZ ~ GARCIA), the name's words in any order (family-name-first records), a
date of birth with day and month exchanged, and the keys blocking pairs records on (see
blocking_keys). Pure functions over a frame; no engine here.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import lru_cache
from typing import Any

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from caseline.resolve.blocking_keys import blocking_key_columns, hashed_words
from caseline.resolve.comparisons import IDENTIFIERS, half_key_columns, typo_key_column
from caseline.standardise.names import family_name_key, given_name_equivalents

_CACHE = 1 << 18
LIST_COLUMNS = ("name_words", "name_sounds")  # the derived columns that hold lists of words
# Those lists as hashes of their words (lists of integers), which the comparisons read.
HASHED_WORD_COLUMNS = {"name_word_keys": "name_words", "name_sound_keys": "name_sounds"}
# As stored: per identifier its two half keys, then its typo keys ('ssn:h,h,k,k,...;
# a_number:h,h,k,...', see ingest); split into two integers and a list per identifier.
STORED_TYPO_KEYS = "identifier_typo_keys"
TYPO_KEY_COLUMNS = tuple(typo_key_column(identifier) for identifier in IDENTIFIERS)
HALF_KEY_COLUMNS = tuple(c for identifier in IDENTIFIERS for c in half_key_columns(identifier))
# Lists of integer hashes, and the integer half keys: meaningless to a reader, so
# explanations leave them out.
HASH_LIST_COLUMNS = frozenset({*HASHED_WORD_COLUMNS, *TYPO_KEY_COLUMNS})
UNREADABLE_COLUMNS = HASH_LIST_COLUMNS | set(HALF_KEY_COLUMNS)


@lru_cache(maxsize=_CACHE)
def sound_key(name: str | None) -> str | None:
    """Metaphone of the first word, without the glides Y and W that romanisations add or
    drop (NGUYEN / NGUIEN, YUSUF / USUF): spellings that sound alike share it."""
    if not name:
        return None
    word = name.replace("-", " ").split()[0]
    return jellyfish.metaphone(word).replace("Y", "").replace("W", "") or word


def name_sounds(words: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The sound keys of a name's words, initials left out (an initial sounds like nothing)."""
    if not words:
        return None
    sounds = {sound_key(w) for w in words if len(w) > 1}
    return tuple(sorted(s for s in sounds if s)) or None


@lru_cache(maxsize=_CACHE)
def given_forms(given: str | None) -> str | None:
    """'|BILL|WILL|WILLIAM|...|': the given name, the formal names it may stand for and their
    other nicknames, so that BILL and WILL meet through WILLIAM. A delimited string, since a
    substring test is far cheaper in SQL than intersecting lists."""
    if not given:
        return None
    first = given.split()[0]
    forms = {first} | given_name_equivalents(first)
    for formal in given_name_equivalents(first):
        forms |= given_name_equivalents(formal)
    return "|" + "|".join(sorted(forms)) + "|"


@lru_cache(maxsize=_CACHE)
def family_words(family: str | None) -> str | None:
    """'|GARCIA|LOPEZ|': every word of a (possibly compound, hyphenated) family name."""
    if not family:
        return None
    return "|" + "|".join(sorted(set(family.replace("-", " ").split()))) + "|"


def name_words(*parts: str | None) -> tuple[str, ...] | None:
    """Every word of the whole name (given, middle and family), sorted, once each; initials
    are left out, since one record writes THE where another writes T."""
    words = {w for part in parts if part for w in part.replace("-", " ").split() if len(w) > 1}
    return tuple(sorted(words)) if words else None


def name_in_any_order(given: str | None, family: str | None) -> str | None:
    """Given and family words sorted: the same for 'NGUYEN VAN HUNG' read either way round."""
    if not (given and family):
        return None
    return " ".join(sorted(f"{given} {family}".replace("-", " ").split()))


@lru_cache(maxsize=_CACHE)
def swapped_day_month(date_of_birth: str | None) -> str | None:
    """'1956-07-14' -> None (no such month); '1956-07-04' -> '1956-04-07'."""
    if not date_of_birth or len(date_of_birth) != 10:
        return None
    year, month, day = date_of_birth[:4], date_of_birth[5:7], date_of_birth[8:10]
    if day == month or int(day) > 12:
        return None
    return f"{year}-{day}-{month}"


def identifier_typo_keys(stored: pd.Series) -> dict[str, pd.arrays.ArrowExtensionArray]:
    """Per identifier, each row's two half keys (integers) and typo keys (a list of
    integers), null where the row has no such number, from the stored text. Parsed in Arrow
    all at once (one split, not one scan per identifier)."""
    text = pa.array(stored.astype(object).where(stored.notna(), None), type=pa.string())
    parts = pc.split_pattern(text, ";")
    row_of_part = pc.list_parent_indices(parts).to_numpy()
    kind_and_numbers = pc.split_pattern(pc.list_flatten(parts), ":", max_splits=1)
    kinds = pc.list_element(kind_and_numbers, 0)
    numbers = pc.cast(
        pc.split_pattern(pc.list_element(kind_and_numbers, 1), ","), pa.large_list(pa.int64())
    )
    columns = {}
    for identifier in IDENTIFIERS:
        held = np.flatnonzero(pc.equal(kinds, identifier.removesuffix("_hash")).to_numpy(False))
        part = np.full(len(text), -1, dtype=np.int64)
        part[row_of_part[held]] = held
        mine = pc.take(numbers, pa.array(part, mask=part < 0))
        for position, column in enumerate(half_key_columns(identifier)):
            columns[column] = pd.arrays.ArrowExtensionArray(pc.list_element(mine, position))
        columns[typo_key_column(identifier)] = pd.arrays.ArrowExtensionArray(
            pc.cast(pc.list_slice(mine, 2), pa.large_list(pa.int64()))
        )
    return columns


def add_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the derived columns added; the stored columns are left as they are,
    but for the stored typo keys, which are replaced by one list per identifier."""
    out = frame.copy()
    stored = (
        out.pop(STORED_TYPO_KEYS)
        if STORED_TYPO_KEYS in out
        else pd.Series(None, index=out.index, dtype=object)
    )
    for column, keys in identifier_typo_keys(stored).items():
        out[column] = keys
    given_first = _map(out["given_name"], lambda g: g.split()[0])
    out["given_first"] = given_first
    out["given_sound"] = _map(given_first, sound_key)
    out["given_forms"] = _map(given_first, given_forms)
    out["family_key"] = _map(out["family_name"], family_name_key)
    out["family_sound"] = _map(out["family_key"], sound_key)
    out["family_words"] = _map(out["family_name"], family_words)
    given_family = pd.DataFrame({"given": given_first, "family": out["family_name"]})
    out["name_any_order"] = _map_rows(given_family, name_in_any_order)
    out["full_name"] = _map_rows(given_family, lambda g, f: f"{g} {f}" if g and f else None)
    out["name_words"] = _map_rows(out[["given_name", "middle_name", "family_name"]], name_words)
    out["name_sounds"] = _map(out["name_words"], name_sounds)
    for hashed, words in HASHED_WORD_COLUMNS.items():
        out[hashed] = hashed_words(out[words], words)
    out["dob_swapped"] = _map(out["date_of_birth"], swapped_day_month)
    out["dob_year"] = _map(out["date_of_birth"], lambda d: d[:4])
    out["dob_month_day"] = _map(out["date_of_birth"], lambda d: d[5:])
    for column, values in blocking_key_columns(out).items():
        out[column] = values
    return out


def _map(column: pd.Series, function: Callable[[Any], Hashable | None]) -> pd.Series:
    """Apply ``function`` once per distinct value (columns repeat a few thousand names);
    a missing value stays None."""
    codes, distinct = pd.factorize(column, use_na_sentinel=True)
    mapped = _objects([*(function(v) for v in distinct), None])
    return pd.Series(mapped[codes], index=column.index, dtype=object)


def _map_rows(columns: pd.DataFrame, function: Callable[..., Hashable | None]) -> pd.Series:
    """Apply ``function`` once per distinct combination of the columns' values."""
    codes = np.zeros(len(columns), dtype=np.int64)
    for name in columns.columns:  # the combination's code from each column's (0: missing)
        values, distinct = pd.factorize(columns[name], use_na_sentinel=True)
        codes = pd.factorize(codes * (len(distinct) + 1) + values + 1)[0]
    first = np.unique(codes, return_index=True)[1]  # a row of each combination
    rows = columns.iloc[first].astype(object).where(columns.iloc[first].notna(), None)
    mapped = _objects([function(*row) for row in rows.itertuples(index=False)])
    return pd.Series(mapped[codes], index=columns.index, dtype=object)


def _objects(values: list[Any]) -> np.ndarray:
    """A 1-d object array of ``values`` (np.array would make tuples of one length a 2-d one)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
