"""Match typed name words against the words persons' records give, forgiving slips.

A typed word matches a stored word when it is the same, a few edits away (one for words of
up to four letters, two for longer ones; a swap of neighbours is one edit), sounds the same
(metaphone) and is close, or (four letters or more) begins it. Only words that begin with
the typed word's first or second letter or sound the same can match. Each match has a
similarity in (0, 1]: 1 for the word itself, Jaro-Winkler otherwise, less for a beginning
only.

A search must not compare the typed word with thousands of stored words, so the vocabulary
is indexed three ways and only the words an index names are compared: by sound; in sorted
order, where the words a typed word begins are one run; and, for slips, by what bounds the
edits from below. Each edit (a letter put in, dropped or replaced; a swap moves none) changes
by at most one how many letters one word has that the other lacks, so a word within k edits
has at most k letters more and k fewer than the typed word, and a length within k of it. Both
are checked for all the words of the two first letters at once (a table of each word's
letter counts, 54 bytes a word), and the similarity is computed only for the few left, as
before: the index changes what is compared, never what matches
(``tests/test_search_matching.py`` holds it to comparing with every word).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping
from itertools import groupby

import jellyfish
import numpy as np

PREFIX_SIMILARITY = 0.8  # "CARDEN" for CARDENAS: a start, not a slip
MIN_PREFIX = 4
SOUND_SIMILARITY = 0.8  # same metaphone, but only if at least this close
MAX_EDITS = 2  # the most a typed word may be from a stored one (words of five letters on)


class Vocabulary:
    """The distinct words persons' names hold, with how many persons hold each, indexed so
    that a typed word is compared only with the few words it may mean."""

    __slots__ = ("_by_sound", "_lengths", "_letters", "_longest", "_of_length", "_shaped",
                 "_sorted", "_sound_of", "persons_holding")  # fmt: skip

    def __init__(self, persons_holding: Mapping[str, int]) -> None:
        self.persons_holding = dict(persons_holding)
        self._sorted = sorted(self.persons_holding)
        self._sound_of = {word: _sound(word) for word in self._sorted}
        by_sound: defaultdict[str, list[str]] = defaultdict(list)
        for word, sound in self._sound_of.items():
            by_sound[sound].append(word)
        self._by_sound = dict(by_sound)
        # For slips: the words by first letter, then length, so that the words of a first
        # letter and a length near the typed one's are one run of rows.
        self._shaped = sorted(self._sorted, key=lambda w: (w[0], len(w), w))
        self._letters = np.array([_letter_counts(w) for w in self._shaped], dtype=np.int16)
        self._letters = self._letters.reshape(len(self._shaped), _COLUMNS)
        self._lengths = np.array([len(w) for w in self._shaped], dtype=np.int16)
        self._longest = int(self._lengths.max()) if len(self._shaped) else 0
        self._of_length: dict[str, list[int]] = {}  # first letter -> row where length L starts
        for first, run in groupby(enumerate(self._shaped), key=lambda item: item[1][0]):
            rows = list(run)
            lengths = [len(word) for _, word in rows]
            self._of_length[first] = [
                rows[0][0] + bisect.bisect_left(lengths, length)
                for length in range(self._longest + 2)
            ]

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
            for first in {typed[:1], typed[1:2]}:
                near.update(self._few_edits_from(typed, allowed, first))
        for word in near:
            if word in found:
                continue
            similarity = _similarity(typed, word, allowed, sound, self._sound_of[word])
            if similarity:
                found[word] = similarity
        return found

    def _beginning_with(self, typed: str) -> Iterable[str]:
        at = bisect.bisect_left(self._sorted, typed)
        while at < len(self._sorted) and self._sorted[at].startswith(typed):
            yield self._sorted[at]
            at += 1

    def _few_edits_from(self, typed: str, allowed: int, first: str) -> list[str]:
        """The words beginning with ``first`` that may be within ``allowed`` edits of
        ``typed``: of a length and with letters (counted) that few edits away."""
        starts = self._of_length.get(first)
        if starts is None:
            return []
        start = starts[min(max(len(typed) - allowed, 0), self._longest + 1)]
        end = starts[min(len(typed) + allowed + 1, self._longest + 1)]
        counts = np.array(_letter_counts(typed), dtype=np.int16)
        more = np.maximum(self._letters[start:end] - counts, 0).sum(axis=1)  # not typed
        fewer = more - (self._lengths[start:end] - len(typed))  # typed, not in the word
        kept = np.flatnonzero((more <= allowed) & (fewer <= allowed)) + start
        return [self._shaped[i] for i in kept.tolist()]


def _similarity(typed: str, word: str, allowed: int, sound: str, word_sound: str) -> float:
    if len(typed) >= MIN_PREFIX and word.startswith(typed):
        return PREFIX_SIMILARITY * (0.9 + 0.1 * len(typed) / len(word))
    if abs(len(word) - len(typed)) > max(allowed, 1):
        return 0.0
    if allowed and jellyfish.damerau_levenshtein_distance(typed, word) <= allowed:
        return jellyfish.jaro_winkler_similarity(typed, word)
    if len(typed) > 2 and word_sound == sound:
        close = jellyfish.jaro_winkler_similarity(typed, word)
        return close if close >= SOUND_SIMILARITY else 0.0
    return 0.0


def _sound(word: str) -> str:
    return jellyfish.metaphone(word) or word


_COLUMNS = 27  # A to Z, and one for anything else


def _letter_counts(word: str) -> list[int]:
    """How many of each letter the word has (any other character counted together, which
    only lowers the bound)."""
    counts = [0] * _COLUMNS
    for character in word:
        at = ord(character) - 65
        counts[at if 0 <= at < 26 else 26] += 1
    return counts
