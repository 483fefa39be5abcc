"""Search's indexes change what is compared, never what is found: the vocabulary's matches
are those of comparing a typed word with every stored word, a search ranks as comparing the
typed words with every person's words would, and a purge is seen by the next search."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable

import jellyfish
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.cases.retention import apply_retention
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import Person, PersonNameWord, SourceRecord
from caseline.oversight import Actor, Role
from caseline.profiles import search_persons
from caseline.profiles.name_match import Vocabulary
from caseline.profiles.search import MIN_MATCH, SearchResults, _words

ANN = Actor("ann", Role.ANALYST)
ADMIN = Actor("test-admin", Role.ADMIN)
PURPOSE = "name check for an open case"
LETTERS = "ABCDEILMNORSTUZ"  # few letters, so that words are often near each other


def _reference_matches(words: dict[str, int], typed: str) -> dict[str, float]:
    """The documented rule, applied to every stored word in turn."""
    allowed = 0 if len(typed) <= 2 else 1 if len(typed) <= 4 else 2
    sound = jellyfish.metaphone(typed) or typed
    found: dict[str, float] = {}
    for word in words:
        word_sound = jellyfish.metaphone(word) or word
        if word == typed:
            found[word] = 1.0
            continue
        if word[0] not in (typed[:1], typed[1:2]) and word_sound != sound:
            continue  # only words of its first or second letter, or of its sound
        if len(typed) >= 4 and word.startswith(typed):
            found[word] = 0.8 * (0.9 + 0.1 * len(typed) / len(word))
            continue
        if abs(len(word) - len(typed)) > max(allowed, 1):
            continue
        close = jellyfish.jaro_winkler_similarity(typed, word)
        slips = jellyfish.damerau_levenshtein_distance(typed, word)
        near = (allowed and slips <= allowed) or (
            len(typed) > 2 and word_sound == sound and close >= 0.8
        )
        if near and close > 0:  # a similarity of 0 is no match
            found[word] = close
    return found


def _typed_from(word: str, rng: random.Random) -> str:
    """The word as a hurried typist may give it: as it is, a letter replaced, dropped, put
    in or doubled, two neighbours (or the first two) swapped, two slips, or its start."""
    at = rng.randrange(len(word))
    letter = rng.choice(LETTERS + "KPY")
    kind = rng.randrange(9)
    if kind == 0:
        return word
    if kind == 1:
        return word[:at] + letter + word[at + 1 :]
    if kind == 2 and len(word) > 1:
        return word[:at] + word[at + 1 :]
    if kind == 3:
        return word[:at] + letter + word[at:]
    if kind == 4 and len(word) > 1:
        at = min(at, len(word) - 2)
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if kind == 5:
        return _typed_from(_typed_from(word, rng), rng)
    if kind == 6:
        return word[: max(1, at)]
    if kind == 7:
        return word[:at] + word[at] + word[at:]
    return letter + word[1:]  # the first letter wrong: only its sound can find it


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(st.text(LETTERS, min_size=1, max_size=11), min_size=1, max_size=150),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_vocabulary_finds_what_comparing_every_word_finds(words: list[str], seed: int) -> None:
    rng = random.Random(seed)
    held = {word: rng.randint(1, 9) for word in words}
    vocabulary = Vocabulary.of(held)
    for _ in range(25):
        typed = _typed_from(rng.choice(words), rng)
        assert vocabulary.matches(typed) == pytest.approx(_reference_matches(held, typed))


def test_the_vocabulary_finds_sound_alikes_slips_and_starts_in_a_named_vocabulary() -> None:
    held = dict.fromkeys(
        ["CARDENAS", "CARDONA", "KARDENAS", "MARIA", "MARIO", "MAREA", "AMARIA", "MOHAMMED",
         "MUHAMMAD", "MOHAMED", "LI", "LEE", "LIN", "YOUSSEF", "YUSUF", "JOSEPH", "JOSE"],
        2,
    )  # fmt: skip
    vocabulary = Vocabulary.of(held)
    typed_words = [
        "CARDENAZ",
        "KARDENAS",
        "ACRDENAS",
        "CARD",
        "MRAIA",
        "AMRIA",
        "MARI",
        "LE",
        "MOHAMAD",
        "MUHAMED",
        "YUSEF",
        "JOSEF",
        "JSE",
        "LNI",
        "XARIA",
        "ZZZZZ",
    ]
    for typed in typed_words:
        assert vocabulary.matches(typed) == pytest.approx(_reference_matches(held, typed)), typed


def _reference_ranking(session: Session) -> Callable[[list[str]], list[tuple[float, str, str]]]:
    """Every person's words compared with the typed words, as the search module says."""
    holders: defaultdict[str, set[str]] = defaultdict(set)
    for word, person_id in session.execute(select(PersonNameWord.word, PersonNameWord.person_id)):
        holders[person_id].add(word)
    counts: defaultdict[str, int] = defaultdict(int)
    for own in holders.values():
        for word in own:
            counts[word] += 1
    vocabulary = Vocabulary.of(counts)
    names = {
        pid: name for pid, name in session.execute(select(Person.person_id, Person.display_name))
    }

    def ranking(query_words: list[str]) -> list[tuple[float, str, str]]:
        meant = [vocabulary.matches(word) for word in query_words]
        needed = len(query_words) if len(query_words) <= 2 else len(query_words) - 1
        ranked = []
        for person_id, own in holders.items():
            best = [max((m[w] for w in own if w in m), default=0.0) for m in meant]
            matched = [b for b in best if b]
            if (
                person_id in names
                and len(matched) >= needed
                and sum(matched) / len(matched) >= MIN_MATCH
            ):
                ranked.append((round(sum(best) / len(best), 4), names[person_id], person_id))
        return sorted(ranked, key=lambda r: (-r[0], r[1], r[2]))

    return ranking


def _searched(database: Database, query: str, offset: int = 0) -> SearchResults:
    with database.transaction() as session:
        return search_persons(session, query, actor=ANN, purpose=PURPOSE, limit=50, offset=offset)


def _queries(database: Database) -> list[str]:
    """Names of the world as typed: whole, with slips, family name first, a start, three
    words (one may be missed), a single common word."""
    rng = random.Random(7)
    with database.transaction() as session:
        names = sorted(session.scalars(select(Person.display_name)))
    chosen = rng.sample([n for n in names if len(n.split()) >= 2], 6)
    queries = []
    for name in chosen:
        given, family = name.split()[0], name.split()[-1]
        queries += [
            name,
            f"{_typed_from(given, rng)} {_typed_from(family, rng)}",
            f"{family}, {given}",
            family[:4],
            f"{given} {family} {_typed_from(given, rng)}",
        ]
    return [*queries, names[len(names) // 2].split()[0]]


def _assert_ranked_as_reference(database: Database, queries: list[str]) -> None:
    with database.transaction() as session:
        reference = _reference_ranking(session)
    for query in queries:
        found = _searched(database, query)
        expected = reference(_words(query))
        assert found.total == len(expected), query
        shown = [(p.match, p.display_name, p.person_id) for p in found.persons]
        assert shown == expected[:50], query
        if found.total > 50:
            after = _searched(database, query, offset=50).persons
            assert [p.person_id for p in after] == [r[2] for r in expected[50:100]], query


def test_a_search_ranks_every_person_as_comparing_their_words_would(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    _assert_ranked_as_reference(database, _queries(database))


def test_the_next_search_sees_a_retention_purge(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    queries = _queries(database)
    _assert_ranked_as_reference(database, queries)  # the index of this state is kept
    with database.transaction() as session:
        named = {
            pid: name
            for pid, name in session.execute(select(Person.person_id, Person.display_name))
        }
        sources = sorted(set(session.scalars(select(SourceRecord.source))))
        run = apply_retention(
            session, ADMIN, periods=dict.fromkeys(sources, 3650), as_of=dt.date(2026, 1, 1),
            today=dt.date(2026, 1, 1),
        )  # fmt: skip
    gone = [p.person_id for p in run.purged.persons if p.records_left == 0]
    kept = [p.person_id for p in run.purged.persons if p.records_left > 0]
    assert gone and kept
    for person_id in gone[:3]:
        assert person_id not in {p.person_id for p in _searched(database, named[person_id]).persons}
    _assert_ranked_as_reference(database, [*queries, *(named[p] for p in gone[:3] + kept[:3])])
