"""Derived columns the model compares and blocks on, computed once per distinct value.

The record store holds names and dates as standardised; resolution also needs the forms in
which two spellings of one person meet: a sound key (MOHAMMED / MUHAMMAD -> MHMT), the
names a given name may be written as (BILL ~ WILLIAM), the compound-surname key
(GARCIA LOPEZ ~ GARCIA), the name's words in any order (family-name-first records), a
date of birth with day and month exchanged, and the keys blocking pairs records on (see
blocking_keys). Pure functions over a frame; no engine here.
"""

from __future__ import annotations

from functools import lru_cache

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from caseline.resolve.blocking_keys import blocking_key_columns, hashed_words
from caseline.resolve.coded import CodedColumns
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
    coded = CodedColumns(out)
    coded.derive("given_first", "given_name", lambda g: g.split()[0])
    coded.derive("given_sound", "given_first", sound_key)
    coded.derive("given_forms", "given_first", given_forms)
    coded.derive("family_key", "family_name", family_name_key)
    coded.derive("family_sound", "family_key", sound_key)
    coded.derive("family_words", "family_name", family_words)
    coded.combine("name_any_order", ["given_first", "family_name"], name_in_any_order)
    coded.combine(
        "full_name", ["given_first", "family_name"], lambda g, f: f"{g} {f}" if g and f else None
    )
    coded.combine("name_words", ["given_name", "middle_name", "family_name"], name_words)
    coded.derive("name_sounds", "name_words", name_sounds)
    for hashed, words in HASHED_WORD_COLUMNS.items():
        out[hashed] = hashed_words(coded[words], words)
    coded.derive("dob_swapped", "date_of_birth", swapped_day_month)
    coded.derive("dob_year", "date_of_birth", lambda d: d[:4])
    coded.derive("dob_month_day", "date_of_birth", lambda d: d[5:])
    for column, values in blocking_key_columns(coded).items():
        out[column] = values
    return out
