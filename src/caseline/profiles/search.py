"""Find persons by name, forgiving typos and word order, with what tells namesakes apart.

Each typed word is matched against the words of every name the person's records give
(:mod:`name_match`); a person's match is the mean, over the typed words, of the best
similarity one of their words has (0 for a typed word none matches). A person must match
every typed word but one (all of them for one or two words), those it matches on average at
least ``MIN_MATCH``. Results go best first, then by name; the total says how many there are.

Who holds each word and each person's name and record count come from the process's
:mod:`name_index` for the database's current data state; a search reads from the database
only its filters and the page it shows.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from sqlalchemy import ColumnElement, func, literal, or_, select
from sqlalchemy.orm import Session

from caseline.db.models import Person, PersonRecord, SourceRecord
from caseline.errors import InputError
from caseline.oversight import Actor, PersonsSearched, permit
from caseline.profiles.name_index import NAME_INDEXES
from caseline.standardise import InvalidValue, clean_name

MAX_RESULTS = 50  # per page
MAX_WORDS = 8
MIN_MATCH = 0.75
EXACT = 0.999
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Narrow a search: a date of birth some record gives in a range, a source some record
    comes from, a place (city, state or ZIP) some record gives."""

    born_from: dt.date | None = None
    born_to: dt.date | None = None
    source: str | None = None
    place: str | None = None

    def __bool__(self) -> bool:
        return any((self.born_from, self.born_to, self.source, self.place))


@dataclass(frozen=True, slots=True)
class PersonSummary:
    person_id: str
    display_name: str
    record_count: int
    match: float = 1.0  # 1: every word as typed; less for slips, starts and missing words
    dates_of_birth: tuple[dt.date, ...] = ()  # most supported first
    places: tuple[str, ...] = ()  # "CITY, ST", most supported first
    sources: tuple[str, ...] = ()

    @property
    def match_label(self) -> str:
        return "exact" if self.match >= EXACT else "close" if self.match >= 0.9 else "loose"


@dataclass(frozen=True, slots=True)
class SearchResults:
    total: int
    offset: int
    persons: tuple[PersonSummary, ...]


def search_persons(
    session: Session,
    query: str,
    *,
    actor: Actor,
    purpose: str | None,
    limit: int = 20,
    offset: int = 0,
    filters: SearchFilters | None = None,
) -> SearchResults:
    """Persons whose names match ``query`` (see the module), best first; needs a purpose,
    audited with the persons shown."""
    allowed = permit(actor, PersonsSearched, purpose)
    words = _words(query)
    if offset < 0 or not 1 <= limit <= MAX_RESULTS:
        raise InputError(f"a page is 1 to {MAX_RESULTS} persons from offset 0 on", where="limit")
    ranked = _ranked(session, words, filters or SearchFilters())
    page = _described(session, ranked[offset : offset + limit])
    allowed.record(
        session,
        PersonsSearched(query=" ".join(words), results=tuple(p.person_id for p in page)),
    )
    return SearchResults(len(ranked), offset, tuple(page))


def prepare_search(session: Session) -> None:
    """Read now what search keeps in the process for this state of the data (who holds each
    name word), so that the first search a new server process answers does not wait for it
    (about 3 s on a million records)."""
    NAME_INDEXES.get(session)


def find_persons(session: Session, query: str, limit: int = 20) -> list[PersonSummary]:
    """Persons whose best-known name has every word of ``query`` as typed, by name,
    unaudited: for offline measurements that audit their own run (the simulation)."""
    words = _words(query)
    padded = literal(" ") + func.replace(Person.display_name, "-", " ") + literal(" ")
    statement = select(Person)
    for word in words:
        statement = statement.where(padded.contains(f" {word} ", autoescape=True))
    found = session.scalars(
        statement.order_by(Person.display_name, Person.person_id).limit(min(limit, MAX_RESULTS))
    ).all()
    return [PersonSummary(p.person_id, p.display_name, p.record_count) for p in found]


def find_top_persons(session: Session, queries: Iterable[str]) -> dict[str, str | None]:
    """For each query, the person :func:`find_persons` would list first (None: no one),
    unaudited; reads every person's name once, so thousands of queries cost one scan (for
    offline measurements that audit their own run)."""
    ranked = session.execute(
        select(Person.person_id, Person.display_name).order_by(
            Person.display_name, Person.person_id
        )
    ).all()  # in the database's own order, as the search sorts
    holders: dict[str, set[int]] = {}
    for rank, (_, name) in enumerate(ranked):
        for word in set(name.replace("-", " ").split(" ")):
            holders.setdefault(word, set()).add(rank)
    top: dict[str, str | None] = {}
    for query in queries:
        try:
            words = _words(query)
        except InputError:
            top[query] = None
            continue
        found = set.intersection(*(holders.get(word, set()) for word in words))
        top[query] = ranked[min(found)][0] if found else None
    return top


def _words(query: str) -> list[str]:
    try:
        words = (clean_name(query) or "").replace("-", " ").split()
    except InvalidValue:
        words = []
    if not words:
        raise InputError("search needs at least one word of a name", where="query")
    if len(words) > MAX_WORDS:
        raise InputError(f"search takes at most {MAX_WORDS} words of a name", where="query")
    return list(dict.fromkeys(words))


def _ranked(
    session: Session, words: list[str], filters: SearchFilters
) -> list[tuple[float, str, str, int]]:
    """(match, name, person id, records) for every person that matches, best first."""
    index = NAME_INDEXES.get(session)
    vocabulary = index.vocabulary
    meant = [vocabulary.matches(word) for word in words]
    needed = len(words) if len(words) <= 2 else len(words) - 1
    # Every person that matches holds a word meant by one of the two rarest typed words.
    rarest = sorted(meant, key=lambda m: sum(vocabulary.persons_holding[w] for w in m))
    seeds = {w for m in rarest[: len(words) - needed + 1] for w in m}
    if not seeds:
        return []
    candidates = index.holders(seeds)
    matched, total = index.scores(candidates, meant)
    # Enough words matched, and well enough; a missing word lowers the rank only.
    enough = (matched >= needed) & (
        np.divide(total, matched, out=np.zeros_like(total), where=matched > 0) >= MIN_MATCH
    )
    scored = {
        at: summed / len(words)
        for at, summed in zip(candidates[enough].tolist(), total[enough].tolist(), strict=True)
    }
    if filters:  # asked of the database for the persons that match only
        passing = _passing(session, {index.person_ids[at] for at in scored}, filters)
        scored = {at: s for at, s in scored.items() if index.person_ids[at] in passing}
    return sorted(
        (
            (round(score, 4), index.display_names[at], index.person_ids[at],
             index.record_counts[at])
            for at, score in scored.items()
        ),
        key=lambda r: (-r[0], r[1], r[2]),
    )  # fmt: skip


def _passing(session: Session, person_ids: set[str], filters: SearchFilters) -> set[str]:
    """The persons with, for each filter given, some record that meets it."""
    tests: list[ColumnElement[bool]] = []
    if filters.born_from or filters.born_to:
        born: ColumnElement[bool] = SourceRecord.date_of_birth.is_not(None)
        if filters.born_from:
            born &= SourceRecord.date_of_birth >= filters.born_from
        if filters.born_to:
            born &= SourceRecord.date_of_birth <= filters.born_to
        tests.append(born)
    if filters.source:
        tests.append(SourceRecord.source == filters.source.strip().lower())
    if filters.place:
        place = " ".join(filters.place.upper().split())
        tests.append(
            or_(SourceRecord.city == place, SourceRecord.state == place,
                SourceRecord.postcode == place)
        )  # fmt: skip
    passing = set(person_ids)
    for test in tests:
        met: set[str] = set()
        for chunk in _chunks(sorted(passing)):
            met.update(
                session.scalars(
                    select(PersonRecord.person_id)
                    .join(SourceRecord, SourceRecord.record_id == PersonRecord.record_id)
                    .where(PersonRecord.person_id.in_(chunk), test)
                    .distinct()
                ).all()
            )
        passing = met
    return passing


_Given = TypeVar("_Given", dt.date, str)


def _described(session: Session, page: list[tuple[float, str, str, int]]) -> list[PersonSummary]:
    """The page's persons with their dates of birth, places and sources."""
    births: defaultdict[str, Counter[dt.date]] = defaultdict(Counter)
    places: defaultdict[str, Counter[str]] = defaultdict(Counter)
    sources: defaultdict[str, set[str]] = defaultdict(set)
    rows = session.execute(
        select(
            PersonRecord.person_id,
            SourceRecord.source,
            SourceRecord.date_of_birth,
            SourceRecord.city,
            SourceRecord.state,
        )
        .join(SourceRecord, SourceRecord.record_id == PersonRecord.record_id)
        .where(PersonRecord.person_id.in_([pid for _, _, pid, _ in page]))
    )
    for person_id, source, born, city, state in rows:
        sources[person_id].add(source)
        if born is not None:
            births[person_id][born] += 1
        if city or state:
            places[person_id][", ".join(filter(None, (city, state)))] += 1
    return [
        PersonSummary(
            person_id=pid,
            display_name=name,
            record_count=count,
            match=score,
            dates_of_birth=_most_given(births[pid]),
            places=_most_given(places[pid]),
            sources=tuple(sorted(sources[pid])),
        )
        for score, name, pid, count in page
    ]


def _most_given(counts: Counter[_Given], shown: int = 3) -> tuple[_Given, ...]:
    """The values most records give, ties in value order: the rows come in no fixed order,
    and a namesake's summary must not change from one search to the next."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(value for value, _ in ranked[:shown])


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
