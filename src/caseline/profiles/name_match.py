"""Match typed name words against the words persons' records give, forgiving slips.

A typed word matches a stored word when it is the same, a few edits away (one for words of
up to four letters, two for longer ones; a swap of neighbours is one edit), sounds the same
(metaphone) and is close, or (four letters or more) begins it. It is compared with the words
that begin with its first or its second letter or sound the same, not with every word. Each
match has a similarity in (0, 1]: 1 for the word itself, Jaro-Winkler otherwise, less for a
beginning only.

The vocabulary (each distinct word and how many persons hold it) is read once per resolution
run and kept in the process: a search compares the typed words with the words that share
their first letter or their sound, not with every person.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

import jellyfish
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseline.db.models import PersonNameWord, ResolutionRun

PREFIX_SIMILARITY = 0.8  # "CARDEN" for CARDENAS: a start, not a slip
MIN_PREFIX = 4
SOUND_SIMILARITY = 0.8  # same metaphone, but only if at least this close


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The distinct words persons' names hold, with how many persons hold each."""

    persons_holding: dict[str, int]
    by_first_letter: dict[str, list[str]] = field(default_factory=dict)
    by_sound: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, persons_holding: dict[str, int]) -> Vocabulary:
        letters: defaultdict[str, list[str]] = defaultdict(list)
        sounds: defaultdict[str, list[str]] = defaultdict(list)
        for word in persons_holding:
            letters[word[0]].append(word)
            sounds[_sound(word)].append(word)
        return cls(persons_holding, dict(letters), dict(sounds))

    def matches(self, typed: str) -> dict[str, float]:
        """Stored word -> similarity, for the words ``typed`` may have meant."""
        found: dict[str, float] = {}
        if typed in self.persons_holding:
            found[typed] = 1.0
        allowed = 0 if len(typed) <= 2 else 1 if len(typed) <= 4 else 2
        sound = _sound(typed)
        # The first letter, or the second (its first two swapped, or one put before it), or
        # the sound: the words a slip of the typed one can be.
        near = {
            *self.by_first_letter.get(typed[:1], ()),
            *self.by_first_letter.get(typed[1:2], ()),
            *self.by_sound.get(sound, ()),
        }
        for word in near:
            if word in found:
                continue
            similarity = _similarity(typed, word, allowed, sound)
            if similarity:
                found[word] = similarity
        return found


def _similarity(typed: str, word: str, allowed: int, sound: str) -> float:
    if len(typed) >= MIN_PREFIX and word.startswith(typed):
        return PREFIX_SIMILARITY * (0.9 + 0.1 * len(typed) / len(word))
    if abs(len(word) - len(typed)) > max(allowed, 1):
        return 0.0
    close = jellyfish.jaro_winkler_similarity(typed, word)
    if allowed and jellyfish.damerau_levenshtein_distance(typed, word) <= allowed:
        return close
    if len(typed) > 2 and _sound(word) == sound and close >= SOUND_SIMILARITY:
        return close
    return 0.0


def _sound(word: str) -> str:
    return jellyfish.metaphone(word) or word


class VocabularyCache:
    """One vocabulary per database and resolution run, shared by the server's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[int | None, Vocabulary]] = {}

    def get(self, session: Session) -> Vocabulary:
        bind = session.get_bind()
        key = f"{bind.engine.url}#{id(bind.engine)}"
        # Every run (incremental placement too) is a new row; nothing else adds words.
        run = session.scalar(select(func.max(ResolutionRun.id)))
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept[0] == run:
                return kept[1]
        held = {
            word: count
            for word, count in session.execute(
                select(PersonNameWord.word, func.count()).group_by(PersonNameWord.word)
            )
        }
        vocabulary = Vocabulary.of(held)
        with self._lock:
            self._kept[key] = (run, vocabulary)
        return vocabulary


VOCABULARIES = VocabularyCache()
