"""Keys that pair records through a piece of the name they share, alone or in a context.

Two records of one person often share no whole field but a word of the name: a utility
bill names a person and an address and nothing else; a moved person's bill meets their
other records by name alone; a surname is dropped, mistyped or written given-name-first.
So besides the rules on equal columns, records meet on keys built from the name's pieces:

- **in a context** (``context_keys``): a word sound of the name with the same date of birth
  (or that date with day and month exchanged) or the same address, and a pair of the
  name's word sounds with the same postcode. A context makes the block small, whatever the
  name. (A given-name form or a name less a letter with the postcode joined most of the
  rows for almost none of the true pairs, and is not a key.)
- **alone** (``rare_name_keys``): the name's pieces without a context (its word sounds
  in pairs, a form of the given name (BILL ~ WILLIAM) with the family sound, the family
  or given name less a letter with the other's sound), for pairs where one record has
  no date of birth. A piece held by many records pairs too many to compare, and
  a common name is weak evidence anyway, so only the rare ones are kept (`SOUND_PAIR_CAP`,
  `NAME_VARIANT_CAP`): this keeps the number of pairs linear in the records.

Each key is a 63-bit hash, held in a list per record that one blocking rule explodes. The
hashes are stable across processes, so a record kept by one run meets a new record keyed
by another. Pure functions over a frame: each piece is made and hashed once per distinct
value (a family name's variants once per family name), and combined per record in numpy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from caseline.resolve.coded import Coded, CodedColumns

SOUND_PAIR_CAP = 50  # records that may share a pair of name sounds with no other context
NAME_VARIANT_CAP = 100  # records that may share a given-name form or a one-letter variant
CROSSED_CAP = 50  # records that may share a (given, family) sound, for the crossed rule

KEY_COLUMNS = ("context_keys", "rare_name_keys")
# The kinds of name piece, and for those kept without a context, how many records may hold one.
SOUND, SOUND_PAIR, FORM, FAMILY_VARIANT, GIVEN_VARIANT = "S", "P", "F", "D", "G"
ALONE_CAP = {
    SOUND_PAIR: SOUND_PAIR_CAP,
    FORM: NAME_VARIANT_CAP,
    FAMILY_VARIANT: NAME_VARIANT_CAP,
    GIVEN_VARIANT: NAME_VARIANT_CAP,
}
# (context column, its tag, the name pieces it is combined with). The swapped date of birth
# is tagged as a date of birth, so that it meets the records born on that day.
CONTEXTS = (
    ("date_of_birth", "dob", (SOUND,)),
    ("dob_swapped", "dob", (SOUND,)),
    ("address_key", "address", (SOUND,)),
    ("postcode", "postcode", (SOUND_PAIR,)),
)
_MULTIPLY, _ADD = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9)
Keys = tuple[np.ndarray, np.ndarray]  # (row of the record, 64-bit hash), one per key


def blocking_key_columns(coded: CodedColumns) -> dict[str, Any]:
    """For records with the name features (``coded``: their columns' codes):
    ``context_keys``, ``rare_name_keys`` and the crossed rule's ``name_fwd_rare`` /
    ``name_rev``, one value per record."""
    out: dict[str, Any] = {}
    pieces = name_pieces(coded)
    size = len(coded)
    contexts: list[Keys] = []
    for column, tag, kinds in CONTEXTS:
        rows, context = _hashed(coded[column], tag)
        for kind in kinds:
            holder, piece = pieces[kind]
            where = rows[holder] >= 0
            contexts.append((holder[where], _combined(context[rows[holder[where]]], piece[where])))
    out["context_keys"] = _lists(contexts, size)
    out["rare_name_keys"] = _lists(
        [_rare(pieces[kind], cap) for kind, cap in ALONE_CAP.items()], size
    )
    # The crossed rule pairs a record's (given, family) with another's (family, given); the
    # key is set only where that name is rare, so the pairs stay few for common names.
    (given, given_sounds), (family, family_sounds) = coded["given_sound"], coded["family_sound"]
    named = (given >= 0) & (family >= 0)
    width = max(len(family_sounds), 1)
    names, distinct = pd.factorize(np.where(named, given * width + family, -1))
    rare = named & (np.bincount(names)[names] <= CROSSED_CAP)
    sounds = [(given_sounds[n // width], family_sounds[n % width]) if n >= 0 else ("", "")
              for n in distinct]  # fmt: skip
    forward = np.array([f"{g}+{f}" for g, f in sounds], dtype=object)[names]
    reverse = np.array([f"{f}+{g}" for g, f in sounds], dtype=object)[names]
    out["name_fwd_rare"] = _objects(forward, rare)
    out["name_rev"] = _objects(reverse, named)
    return out


def hashed_words(words: Coded, tag: str) -> pd.arrays.ArrowExtensionArray:
    """Each row's words (coded tuples, or missing) as a list of stable 63-bit hashes, null
    where it has none: what the comparisons intersect, since an engine carries lists of
    integers into each pair, and intersects them, far faster than lists of text."""
    return _lists([_expanded(words, list, tag)], len(words[0]))


def name_pieces(coded: CodedColumns) -> dict[str, Keys]:
    """Per kind, (row, hash) of every piece of every record's name: its word sounds, the
    pairs of them, each form of the given name with the family sound, and the family (given)
    name less one letter with the given (family) sound, so that two spellings one edit apart
    share a piece."""
    given_rows, given_sound = _hashed(coded["given_sound"], "given")
    family_rows, family_sound = _hashed(coded["family_sound"], "family")

    def with_sound(pieces: Keys, rows: np.ndarray, sounds: np.ndarray) -> Keys:
        holder, piece = pieces
        where = rows[holder] >= 0
        return holder[where], _combined(sounds[rows[holder[where]]], piece[where])

    sounds = coded["name_sounds"]
    return {
        SOUND: _expanded(sounds, lambda each: each, SOUND),
        SOUND_PAIR: _expanded(sounds, _pairs_of, SOUND_PAIR),
        FORM: with_sound(
            _expanded(
                coded["given_forms"],
                lambda f: f.strip("|").split("|"),
                FORM,
            ),
            family_rows,
            family_sound,
        ),
        FAMILY_VARIANT: with_sound(
            _expanded(
                coded["family_key"],
                _one_letter_less,
                FAMILY_VARIANT,
            ),
            given_rows,
            given_sound,
        ),
        GIVEN_VARIANT: with_sound(
            _expanded(
                coded["given_first"],
                _one_letter_less,
                GIVEN_VARIANT,
            ),
            family_rows,
            family_sound,
        ),
    }


def _pairs_of(sounds: tuple[str, ...]) -> list[str]:
    return [f"{a}+{b}" for a, b in combinations(sorted(set(sounds)), 2)]


def _one_letter_less(word: str) -> set[str]:
    """The word and each way of deleting one letter: words one edit apart share one of these."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _hashed(values: Coded, tag: str) -> tuple[np.ndarray, np.ndarray]:
    """Each row's index into the distinct values (-1: missing) and those values' hashes."""
    rows, distinct = values
    return rows, _hash([f"{tag}:{value}" for value in distinct])


def _expanded(values: Coded, pieces: Callable[[Any], Iterable[str]], tag: str) -> Keys:
    """(row, hash) for every piece of every row's value, made once per distinct value."""
    rows, distinct = values
    made = [sorted(set(pieces(value))) for value in distinct]
    counts = np.fromiter((len(m) for m in made), dtype=np.int64, count=len(made))
    hashes = _hash([f"{tag}:{piece}" for m in made for piece in m])
    filled = np.flatnonzero(rows >= 0)
    per_row = counts[rows[filled]]
    starts = np.cumsum(counts) - counts
    # Each row's run of its value's pieces, laid end to end.
    first = np.repeat(starts[rows[filled]] - np.cumsum(per_row) + per_row, per_row)
    return np.repeat(filled, per_row), hashes[first + np.arange(per_row.sum())]


def _hash(texts: list[str]) -> np.ndarray:
    """Stable 64-bit hashes (the same in every process, unlike Python's ``hash``)."""
    if not texts:
        return np.empty(0, dtype=np.uint64)
    hashed: np.ndarray = pd.util.hash_array(np.asarray(texts, dtype=object), categorize=False)
    return hashed


def _combined(context: np.ndarray, piece: np.ndarray) -> np.ndarray:
    """One 64-bit key from a context's hash and a piece's (numpy wraps the arithmetic)."""
    mixed: np.ndarray = (context * _MULTIPLY) ^ (piece + _ADD)
    return mixed


def _rare(keys: Keys, cap: int) -> Keys:
    """The keys held by at most ``cap`` records (a record holds each of its keys once)."""
    holder, key = keys
    codes = pd.factorize(key)[0]
    kept = np.bincount(codes)[codes] <= cap
    return holder[kept], key[kept]


def _lists(parts: list[Keys], size: int) -> pd.arrays.ArrowExtensionArray:
    """``size`` rows, each its keys (63-bit integers) or null, held in Arrow: an engine
    reads them in place, where a column of Python objects is converted on every scan."""
    holder = np.concatenate([h for h, _k in parts]) if parts else np.empty(0, np.int64)
    key = np.concatenate([k for _h, k in parts]) if parts else np.empty(0, np.uint64)
    order = np.argsort(holder, kind="stable")
    counts = np.bincount(holder, minlength=size)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
    values = pa.array((key[order] >> np.uint64(1)).astype(np.int64))
    lists = pa.LargeListArray.from_arrays(offsets, values, mask=pa.array(counts == 0))
    return pd.arrays.ArrowExtensionArray(lists)


def _objects(values: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """``values`` where ``kept``, None elsewhere."""
    out = np.full(len(values), None, dtype=object)
    out[kept] = values[kept]
    return out
