"""Find persons by name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from caseline.db.models import Person
from caseline.errors import InputError
from caseline.oversight import Actor, PersonsSearched, permit
from caseline.standardise import InvalidValue, clean_name

MAX_RESULTS = 50


@dataclass(frozen=True, slots=True)
class PersonSummary:
    person_id: str
    display_name: str
    record_count: int


def search_persons(
    session: Session, query: str, *, actor: Actor, purpose: str | None, limit: int = 20
) -> list[PersonSummary]:
    """Persons whose best-known name has every word of ``query`` (accents and case ignored).

    Whole words only, so a fragment cannot page through everyone; needs a purpose, audited.
    """
    allowed = permit(actor, PersonsSearched, purpose)
    words = _words(query)
    results = _matching(session, words, limit)
    allowed.record(
        session,
        PersonsSearched(query=" ".join(words), results=tuple(r.person_id for r in results)),
    )
    return results


def find_persons(session: Session, query: str, limit: int = 20) -> list[PersonSummary]:
    """What :func:`search_persons` finds for ``query``, in its order, unaudited: for offline
    measurements that audit their own run (the wrongful-action simulation)."""
    return _matching(session, _words(query), limit)


def find_top_persons(session: Session, queries: Iterable[str]) -> dict[str, str | None]:
    """For each query, the person :func:`search_persons` would list first (None: no one),
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
    return words


def _matching(session: Session, words: list[str], limit: int) -> list[PersonSummary]:
    # A hyphen separates words on both sides: JI-MIN YAN is found by "Ji-Min Yan" or "Ji Min".
    padded = literal(" ") + func.replace(Person.display_name, "-", " ") + literal(" ")
    statement = select(Person)
    for word in words:
        statement = statement.where(padded.contains(f" {word} ", autoescape=True))
    found = session.scalars(
        statement.order_by(Person.display_name, Person.person_id).limit(min(limit, MAX_RESULTS))
    ).all()
    return [PersonSummary(p.person_id, p.display_name, p.record_count) for p in found]
