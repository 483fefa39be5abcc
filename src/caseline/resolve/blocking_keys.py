"""Keys that pair records through a piece of the name they share, alone or in a context.

Two records of one person often share no whole field but a word of the name: a utility
bill names a person and an address and nothing else; a moved person's bill meets their
other records by name alone; a surname is dropped, mistyped or written given-name-first.
So besides the rules on equal columns, records meet on keys built from the name's pieces:

- **in a context** (``context_keys``): a word sound of the name with the same date of birth
  (or that date with day and month exchanged) or the same address, and a pair of the
  name's word sounds, a form of the given name (BILL ~ WILLIAM) or the family name less a
  letter with the same postcode. A context makes the block small, whatever the name.
- **alone** (``rare_name_keys``): the same pieces without a context, for pairs where one
  record has no date of birth. A piece held by many records pairs too many to compare, and
  a common name is weak evidence anyway, so only the rare ones are kept (`SOUND_PAIR_CAP`,
  `NAME_VARIANT_CAP`): this keeps the number of pairs linear in the records.

Each key is a 63-bit hash, held in a list per record that one blocking rule explodes. The
hashes are stable across processes, so a record kept by one run meets a new record keyed
by another. Pure functions over a frame, computed once per distinct name.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

SOUND_PAIR_CAP = 50  # records that may share a pair of name sounds with no other context
NAME_VARIANT_CAP = 100  # records that may share a given-name form or a one-letter variant
CROSSED_CAP = 50  # records that may share a (given, family) sound, for the crossed rule

NAME_COLUMNS = [
    "name_sounds",
    "given_sound",
    "family_sound",
    "given_first",
    "family_key",
    "given_forms",
]
KEY_COLUMNS = ("context_keys", "rare_name_keys")
# The kinds of name key, and for those kept without a context, how many records may hold one.
SOUND, SOUND_PAIR, FORM, FAMILY_VARIANT, GIVEN_VARIANT = "S", "P", "F", "D", "G"
ALONE_CAP = {
    SOUND_PAIR: SOUND_PAIR_CAP,
    FORM: NAME_VARIANT_CAP,
    FAMILY_VARIANT: NAME_VARIANT_CAP,
    GIVEN_VARIANT: NAME_VARIANT_CAP,
}
# (context column, its tag, the name keys it is combined with). The swapped date of birth is
# tagged as a date of birth, so that it meets the records born on that day.
CONTEXTS = (
    ("date_of_birth", "dob", (SOUND,)),
    ("dob_swapped", "dob", (SOUND,)),
    ("address_key", "address", (SOUND,)),
    ("postcode", "postcode", (SOUND_PAIR, FORM, FAMILY_VARIANT)),
)
_MULTIPLY, _ADD = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9)


def add_blocking_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (with the name features) with ``context_keys``, ``rare_name_keys`` and the
    crossed rule's ``name_fwd_rare`` / ``name_rev`` added."""
    out = frame.copy()
    codes, names = _distinct_rows(out[NAME_COLUMNS])
    kinds, owners, hashes = _name_keys(names)
    per_name = np.bincount(codes, minlength=len(names))
    rare = _rare(kinds, hashes, per_name[owners])
    out["rare_name_keys"] = _lists(owners[rare], hashes[rare], len(names))[codes]
    out["context_keys"] = _context_keys(out, codes, len(names), (kinds, owners, hashes))
    # The crossed rule pairs a record's (given, family) with another's (family, given); the
    # key is set only where that name is rare, so the pairs stay few for common names.
    named = (out["given_sound"].notna() & out["family_sound"].notna()).to_numpy()
    given = out["given_sound"].where(named, "").astype(str)
    family = out["family_sound"].where(named, "").astype(str)
    forward = given + "+" + family
    holders = forward.map(forward.value_counts()).to_numpy()
    rare = named & (holders <= CROSSED_CAP)
    out["name_fwd_rare"] = _objects(forward.to_numpy(dtype=object), rare)
    out["name_rev"] = _objects((family + "+" + given).to_numpy(dtype=object), named)
    return out


def _objects(values: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """``values`` where ``kept``, None elsewhere."""
    out = np.full(len(values), None, dtype=object)
    out[kept] = values[kept]
    return out


def name_pieces(
    sounds: tuple[str, ...] | None,
    given_sound: str | None,
    family_sound: str | None,
    given_first: str | None,
    family_key: str | None,
    given_forms: str | None,
) -> set[tuple[str, str]]:
    """(kind, piece) for one name: its word sounds, the pairs of them, each form of the given
    name with the family sound, and the family (given) name less one letter with the given
    (family) sound, so that two spellings one edit apart share a piece."""
    pieces = {(SOUND, s) for s in sounds or ()}
    pieces |= {(SOUND_PAIR, f"{a}+{b}") for a, b in combinations(sorted(set(sounds or ())), 2)}
    if family_sound and given_forms:
        pieces |= {(FORM, f"{form}#{family_sound}") for form in given_forms.strip("|").split("|")}
    if given_sound and family_key:
        pieces |= {(FAMILY_VARIANT, f"{given_sound}#{v}") for v in _one_letter_less(family_key)}
    if family_sound and given_first:
        pieces |= {(GIVEN_VARIANT, f"{family_sound}#{v}") for v in _one_letter_less(given_first)}
    return pieces


def _one_letter_less(word: str) -> set[str]:
    """The word and each way of deleting one letter: words one edit apart share one of these."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _distinct_rows(columns: pd.DataFrame) -> tuple[np.ndarray, list[tuple[object, ...]]]:
    """A code per row and the distinct rows (tuples) the codes index."""
    key = columns.iloc[:, 0].map(lambda v: "\x1e".join(v) if v else "")
    for name in columns.columns[1:]:
        key = key + "\x1f" + columns[name].fillna("\x00").astype(str)
    codes, _ = pd.factorize(key)
    first = np.unique(codes, return_index=True)[1]
    rows = columns.iloc[first].astype(object).where(columns.iloc[first].notna(), None)
    return codes, list(rows.itertuples(index=False, name=None))


def _name_keys(names: list[tuple[object, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every name's pieces as (kind, owning name, hash) arrays."""
    kinds: list[str] = []
    owners: list[int] = []
    texts: list[str] = []
    for index, name in enumerate(names):
        for kind, piece in name_pieces(*name):  # type: ignore[arg-type]
            kinds.append(kind)
            owners.append(index)
            texts.append(f"{kind}:{piece}")
    hashes = pd.util.hash_array(np.asarray(texts, dtype=object))
    return np.asarray(kinds), np.asarray(owners, dtype=np.int64), hashes


def _rare(kinds: np.ndarray, hashes: np.ndarray, holders: np.ndarray) -> np.ndarray:
    """Which name keys are kept without a context: those of a capped kind held by at most
    that kind's cap of records (``holders``: the records of the name that holds the key)."""
    totals = pd.Series(holders).groupby(hashes).transform("sum").to_numpy()
    caps = pd.Series(kinds).map(ALONE_CAP).to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return np.asarray(totals <= caps)  # NaN (an uncapped kind): never kept alone


def _context_keys(
    records: pd.DataFrame,
    codes: np.ndarray,
    size: int,
    name_keys: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """Per record, its name's keys (of ``size`` names: kinds, owners, hashes) combined with
    each of its contexts."""
    kinds, owners, hashes = name_keys
    holders: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    for column, tag, wanted in CONTEXTS:
        filled = np.flatnonzero(records[column].notna().to_numpy())
        if not len(filled):
            continue
        context = pd.util.hash_array(
            (tag + ":" + records[column].iloc[filled].astype(str)).to_numpy(dtype=object)
        )
        chosen = np.isin(kinds, wanted)
        starts, counts = _ranges(owners[chosen], size)
        per_record = counts[codes[filled]]
        record = np.repeat(np.arange(len(filled)), per_record)
        first = np.repeat(starts[codes[filled]] - np.cumsum(per_record) + per_record, per_record)
        name_key = hashes[chosen][first + np.arange(per_record.sum())]
        holders.append(filled[record])
        keys.append(_combined(context[record], name_key))
    if not keys:
        return np.full(len(records), None, dtype=object)
    return _lists(np.concatenate(holders), np.concatenate(keys), len(records))


def _ranges(owners: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each owner's run starts in ``owners`` (sorted) and how long it is."""
    counts = np.bincount(owners, minlength=size)
    return np.cumsum(counts) - counts, counts


def _combined(context: np.ndarray, name_key: np.ndarray) -> np.ndarray:
    """One 63-bit key from a context hash and a name-key hash (both 64-bit)."""
    mixed: np.ndarray = (context * _MULTIPLY) ^ (name_key + _ADD)
    return mixed


def _lists(holders: np.ndarray, keys: np.ndarray, size: int) -> np.ndarray:
    """An object array of ``size``: the sorted distinct keys each holder holds, as an int64
    array, or None for a holder of none."""
    order = np.lexsort((keys, holders))
    holders, keys = holders[order], (keys[order] >> np.uint64(1)).astype(np.int64)
    distinct = np.ones(len(keys), dtype=bool)
    distinct[1:] = (holders[1:] != holders[:-1]) | (keys[1:] != keys[:-1])
    holders, keys = holders[distinct], keys[distinct]
    out = np.full(size, None, dtype=object)
    if not len(holders):
        return out
    bounds = np.flatnonzero(np.diff(holders)) + 1
    for holder, chunk in zip(holders[np.r_[0, bounds]], np.split(keys, bounds), strict=True):
        out[holder] = chunk
    return out
