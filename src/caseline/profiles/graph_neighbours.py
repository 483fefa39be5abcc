"""Who a link graph's persons are near: namesakes and household members, found in SQL.

- A **namesake** holds at least two of the words a person's names give (the stored
  ``person_name_words`` search reads; all of them when the person's names give only one):
  another person whom a reader could take for this one, and whom resolution kept apart.
- A **household member** has a record at an address one of the person's records gives, the
  same number, street, unit and ZIP code (the address key of `address_evidence`, compared
  exactly here: spelling variants of a street are one address for the address model, not
  for this lookup).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from caseline.db.models import Person, PersonNameWord, PersonRecord, SourceRecord

NAMESAKE = "namesake"
HOUSEHOLD = "household"
NEIGHBOUR_KINDS = (NAMESAKE, HOUSEHOLD)
MIN_SHARED_WORDS = 2
_CHUNK = 500  # ids per IN (...) list


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What a graph may show of any person: its name, record count, sources and id."""

    person_id: str
    display_name: str
    record_count: int
    sources: tuple[str, ...]


def related_persons(
    session: Session, person_ids: Collection[str]
) -> dict[tuple[str, str], set[str]]:
    """(one of ``person_ids``, another person) -> the kinds of neighbour the other is."""
    related: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for pair in _namesakes(session, person_ids):
        related[pair].add(NAMESAKE)
    for pair in _household(session, person_ids):
        related[pair].add(HOUSEHOLD)
    return dict(related)


def person_facts(session: Session, person_ids: Collection[str]) -> dict[str, PersonFacts]:
    """Name, record count and sources of each person named (those that exist)."""
    wanted = sorted(set(person_ids))
    sources: defaultdict[str, set[str]] = defaultdict(set)
    facts: dict[str, tuple[str, int]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for person_id, name, count in session.execute(
            select(Person.person_id, Person.display_name, Person.record_count).where(
                Person.person_id.in_(chunk)
            )
        ):
            facts[person_id] = (name, count)
        for person_id, source in session.execute(
            select(PersonRecord.person_id, SourceRecord.source)
            .join(SourceRecord, SourceRecord.record_id == PersonRecord.record_id)
            .where(PersonRecord.person_id.in_(chunk))
            .distinct()
        ):
            sources[person_id].add(source)
    return {
        person_id: PersonFacts(person_id, name, count, tuple(sorted(sources[person_id])))
        for person_id, (name, count) in facts.items()
    }


def records_of(session: Session, person_ids: Collection[str]) -> dict[str, list[str]]:
    """Each person's record ids, sorted."""
    held: defaultdict[str, list[str]] = defaultdict(list)
    wanted = sorted(set(person_ids))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for person_id, record_id in session.execute(
            select(PersonRecord.person_id, PersonRecord.record_id)
            .where(PersonRecord.person_id.in_(chunk))
            .order_by(PersonRecord.person_id, PersonRecord.record_id)
        ):
            held[person_id].append(record_id)
    return dict(held)


def _namesakes(session: Session, person_ids: Collection[str]) -> set[tuple[str, str]]:
    mine, theirs = aliased(PersonNameWord), aliased(PersonNameWord)
    wanted = sorted(set(person_ids))
    words: dict[str, int] = {}
    found: set[tuple[str, str]] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        words.update(
            (person_id, count)
            for person_id, count in session.execute(
                select(PersonNameWord.person_id, func.count())
                .where(PersonNameWord.person_id.in_(chunk))
                .group_by(PersonNameWord.person_id)
            )
        )
        shared = session.execute(
            select(mine.person_id, theirs.person_id, func.count())
            .join(theirs, theirs.word == mine.word)
            .where(mine.person_id.in_(chunk), theirs.person_id != mine.person_id)
            .group_by(mine.person_id, theirs.person_id)
        )
        found.update(
            (one, other)
            for one, other, count in shared
            if count >= min(MIN_SHARED_WORDS, words.get(one, 0))
        )
    return found


def _household(session: Session, person_ids: Collection[str]) -> set[tuple[str, str]]:
    r = SourceRecord
    wanted = sorted(set(person_ids))
    found: set[tuple[str, str]] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        addresses = session.execute(
            select(PersonRecord.person_id, r.street_number, r.street, r.unit, r.postcode)
            .join(r, r.record_id == PersonRecord.record_id)
            .where(
                PersonRecord.person_id.in_(chunk),
                func.coalesce(r.street_number, "") != "",
                func.coalesce(r.street, "") != "",
            )
            .distinct()
        ).all()
        by_key: defaultdict[tuple[str, str, str, str], set[str]] = defaultdict(set)
        for person_id, number, street, unit, postcode in addresses:
            by_key[(number or "", street or "", unit or "", postcode or "")].add(person_id)
        keys = sorted(by_key)
        for key_start in range(0, len(keys), _CHUNK // 5):
            batch = keys[key_start : key_start + _CHUNK // 5]
            rows = session.execute(
                select(PersonRecord.person_id, r.street_number, r.street, r.unit, r.postcode)
                .join(r, r.record_id == PersonRecord.record_id)
                .where(
                    or_(
                        *(
                            and_(
                                r.street_number == number,
                                r.street == street,
                                func.coalesce(r.unit, "") == unit,
                                func.coalesce(r.postcode, "") == postcode,
                            )
                            for number, street, unit, postcode in batch
                        )
                    )
                )
            ).all()
            for other, number, street, unit, postcode in rows:
                for one in by_key[(number or "", street or "", unit or "", postcode or "")]:
                    if one != other:
                        found.add((one, other))
    return found
