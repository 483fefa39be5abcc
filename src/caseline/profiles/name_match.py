"""Match typed name words against the words persons' records give, forgiving slips.

A typed word matches a stored word when it is the same, a few edits away (one for words of
up to four letters, two for longer ones; a swap of neighbours is one edit), sounds the same
(metaphone) and is close, or (four letters or more) begins it. Only words that begin with
the typed word's first or second letter or sound the same can match. Each match has a
similarity in (0, 1]: 1 for the word itself, Jaro-Winkler otherwise, less for a beginning
only.

A search must not compare the typed word with thousands of stored words, so the vocabulary
is indexed three ways and only the words an index names are compared: by sound; in sorted
order, where the words a typed word begins are one run; and by deletion neighbourhood. Two
words within k edits (a swap counted as one) keep, after at most k letters are deleted from
each, a common string, so the stored words within two edits of a typed word are among those
sharing one of its variants with up to two letters deleted (each stored word's variants are
kept as 64-bit hashes in one sorted array; a colliding hash only adds a word to compare).
The similarity is then computed as before, so the index changes what is compared, never
what matches (``tests/test_search_matching.py`` holds it to comparing with every word).
"""

from __future__ import annotations

import bisect
from array import array
from collections import defaultdict
from collections.abc import Iterable, Mapping

import jellyfish
import numpy as np
import numpy.typing as npt

PREFIX_SIMILARITY = 0.8  # "CARDEN" for CARDENAS: a start, not a slip
MIN_PREFIX = 4
SOUND_SIMILARITY = 0.8  # same metaphone, but only if at least this close
MAX_EDITS = 2  # the most a typed word may be from a stored one (words of five letters on)


class Vocabulary:
    """The distinct words persons' names hold, with how many persons hold each, indexed so
    that a typed word is compared only with the few words it may mean."""

    __slots__ = ("_by_sound", "_sorted", "_sound_of", "_variant_keys", "_variant_words",
                 "persons_holding")  # fmt: skip

    def __init__(self, persons_holding: Mapping[str, int]) -> None:
        self.persons_holding = dict(persons_holding)
        self._sorted = sorted(self.persons_holding)
        self._sound_of = {word: _sound(word) for word in self._sorted}
        by_sound: defaultdict[str, list[str]] = defaultdict(list)
        for word, sound in self._sound_of.items():
            by_sound[sound].append(word)
        self._by_sound = dict(by_sound)
        self._variant_keys, self._variant_words = _deletion_index(self._sorted)

    @classmethod
    def of(cls, persons_holding: Mapping[str, int]) -> Vocabulary:
        return cls(persons_holding)

    def matches(self, typed: str) -> dict[str, float]:
        """Stored word -> similarity, for the words ``typed`` may have meant."""
        found: dict[str, float] = {}
        if typed in self.persons_holding:
            found[typed] = 1.0
        allowed = 0 if len(typed) <= 2 else 1 if len(typed) <= 4 else MAX_EDITS
        sound = _sound(typed)
        near = set(self._by_sound.get(sound, ()))
        if len(typed) >= MIN_PREFIX:
            near.update(self._beginning_with(typed))
        if allowed:
            # The first letter, or the second (its first two swapped, or one put before it).
            firsts = (typed[:1], typed[1:2])
            near.update(w for w in self._within_deletions(typed, allowed) if w[0] in firsts)
        for word in near:
            if word in found:
                continue
            similarity = _similarity(typed, word, allowed, sound, self._sound_of[word])
            if similarity:
                found[word] = similarity
        return found

    def _beginning_with(self, typed: str) -> Iterable[str]:
        start = bisect.bisect_left(self._sorted, typed)
        for word in self._sorted[start:]:
            if not word.startswith(typed):
                return
            yield word

    def _within_deletions(self, typed: str, allowed: int) -> list[str]:
        """The stored words sharing a variant with ``typed`` (each with up to ``allowed``
        and ``MAX_EDITS`` letters deleted): every word within ``allowed`` edits, and some
        more."""
        keys = np.fromiter((hash(v) for v in _deletions(typed, allowed)), dtype=np.int64)
        starts = np.searchsorted(self._variant_keys, keys, side="left")
        ends = np.searchsorted(self._variant_keys, keys, side="right")
        spans = zip(starts.tolist(), ends.tolist(), strict=True)
        held = [self._variant_words[start:end] for start, end in spans if end > start]
        if not held:
            return []
        return [self._sorted[i] for i in np.unique(np.concatenate(held)).tolist()]


def _similarity(typed: str, word: str, allowed: int, sound: str, word_sound: str) -> float:
    if len(typed) >= MIN_PREFIX and word.startswith(typed):
        return PREFIX_SIMILARITY * (0.9 + 0.1 * len(typed) / len(word))
    if abs(len(word) - len(typed)) > max(allowed, 1):
        return 0.0
    close = jellyfish.jaro_winkler_similarity(typed, word)
    if allowed and jellyfish.damerau_levenshtein_distance(typed, word) <= allowed:
        return close
    if len(typed) > 2 and word_sound == sound and close >= SOUND_SIMILARITY:
        return close
    return 0.0


def _sound(word: str) -> str:
    return jellyfish.metaphone(word) or word


def _deletions(word: str, depth: int) -> set[str]:
    """The word and every string left by deleting up to ``depth`` of its letters."""
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


def _deletion_index(
    words: list[str],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """Each word's variants with up to ``MAX_EDITS`` letters deleted, as sorted hashes, and
    beside each the word's position in ``words``: 12 bytes a variant."""
    keys: array[int] = array("q")
    owners: array[int] = array("i")
    for position, word in enumerate(words):
        variants = _deletions(word, MAX_EDITS)
        keys.extend(hash(v) for v in variants)
        owners.extend([position] * len(variants))
    hashed = np.frombuffer(keys, dtype=np.int64) if keys else np.zeros(0, dtype=np.int64)
    held = np.frombuffer(owners, dtype=np.int32) if owners else np.zeros(0, dtype=np.int32)
    order = np.argsort(hashed, kind="stable")
    return hashed[order], held[order]
