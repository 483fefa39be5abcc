"""Status records that may be a person's though resolution placed them elsewhere.

Resolution keeps a record apart from a person when the evidence for the link is too weak: a
status record whose name came through garbled, say, with no identifier shared. For most
purposes that is right. For a case it is not enough: a record that may show this person's
right to stay should stop the case until someone has looked, even on weak evidence. So a
status record that stops a case (see :mod:`caseline.profiles.status_evidence`) on another
person is a *possible match* when it gives one of the person's dates of birth and a family
name close to one the person's records give (Jaro-Winkler at least ``NAME_SIMILARITY``, or
one slip apart); or a slip of the date (a day either side, day and month exchanged), or no
date on a person whose records give no date or one of theirs, with a given and a family name
each close to the person's, in either order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import jellyfish
from sqlalchemy import ColumnElement, Select, func, literal_column, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from caseline.db.models import PersonRecord, SourceRecord
from caseline.profiles.record_identities import record_identities
from caseline.profiles.status_evidence import (
    StatusEvidence,
    load_status_records,
    status_by_person,
    status_record_filter,
)

NAME_SIMILARITY = 0.8
CHUNK = 5000  # values per IN (...) list
_Value = TypeVar("_Value")


@dataclass(frozen=True, slots=True)
class NearbyStatus:
    """A stopping status record on another person that may be this person's."""

    person_id: str  # the person resolution placed it on
    evidence: StatusEvidence
    name: str  # as the record gives it
    date_of_birth: dt.date | None  # as the record gives it

    def describe(self) -> str:
        e = self.evidence
        born = f"born {self.date_of_birth}" if self.date_of_birth else "no date of birth given"
        return (
            f"{e.term.value} ({e.source} record {e.record_id}, {e.stated}, {e.on or 'undated'}) "
            f"of possible match {self.person_id}: {self.name}, {born}"
        )


@dataclass(frozen=True, slots=True)
class _Identity:
    given: str
    family: str
    born: dt.date | None


def possible_status_matches(
    session: Session, person_ids: Sequence[str], as_of: dt.date
) -> dict[str, list[NearbyStatus]]:
    """For each person, the stopping status records of possible matches on other persons
    (unaudited: the caller audits). Persons with none are left out."""
    identities = _identities(session, person_ids)
    births = {born for found in identities.values() for i in found for born in _births(i)}
    initials = {i.family[:1] for found in identities.values() for i in found}
    # Only the records a key below can find: record -> the identity it gives.
    candidates = _status_records(session, sorted(births), sorted(initials))
    by_key: dict[dt.date | str, list[str]] = {}
    for record_id, identity in sorted(candidates.items()):  # in one order on any plan
        # Undated: found by the initial of either name, since the names may come in either order.
        filed_under: set[dt.date | str] = (
            {identity.family[:1], identity.given[:1]} if identity.born is None else {identity.born}
        )
        for key in filed_under:
            by_key.setdefault(key, []).append(record_id)
    # Pairs by name and date first: the persons of only the records they name are read, and
    # the status of only those persons.
    close: list[tuple[str, str]] = []  # (person, record)
    for person_id, own in identities.items():
        seen: set[str] = set()
        for identity in own:
            keys: list[dt.date | str] = [*_births(identity), identity.family[:1]]
            for key in keys:
                for record_id in by_key.get(key, ()):
                    if record_id not in seen and _close(identity, candidates[record_id]):
                        seen.add(record_id)
                        close.append((person_id, record_id))
    holder = _persons_of(session, sorted({record_id for _, record_id in close}))
    pairs = [(p, record_id) for p, record_id in close if holder.get(record_id, p) != p]
    holders = sorted({holder[record_id] for _, record_id in pairs})
    statuses = status_by_person(load_status_records(session, holders), as_of)
    stopping = {
        e.record_id: e for status in statuses.values() for e in status.stopping
    }  # fmt: skip
    their_births = {
        p: {i.born for i in found} for p, found in _identities(session, holders).items()
    }
    found: dict[str, list[NearbyStatus]] = {}
    for person_id, record_id in pairs:
        evidence = stopping.get(record_id)
        other, theirs = holder[record_id], candidates[record_id]
        if evidence is None:
            continue
        mine = {b for i in identities[person_id] for b in _births(i)}
        if theirs.born is None and not _may_be_born(their_births.get(other), mine):
            continue  # the record's person is born on another day: someone else
        found.setdefault(person_id, []).append(
            NearbyStatus(other, evidence, f"{theirs.given} {theirs.family}", theirs.born)
        )
    return found


def _may_be_born(theirs: set[dt.date | None] | None, mine: set[dt.date]) -> bool:
    """Whether a person whose records give these dates of birth may be born on one of mine:
    when they give none, or one of mine."""
    given = {b for b in theirs or () if b is not None}
    return not given or bool(given & mine)


def _close(mine: _Identity, theirs: _Identity) -> bool:
    """A record giving the person's date of birth needs only a close family name (a passport
    may give the middle name as the given one; a twin is stopped too, for a reviewer to
    tell apart); one giving a slip of it, or none, needs both names close, in either order."""
    if theirs.born is not None and theirs.born == mine.born:
        return _names_close(mine.family, theirs.family)
    return (
        _names_close(mine.given, theirs.given) and _names_close(mine.family, theirs.family)
    ) or (_names_close(mine.given, theirs.family) and _names_close(mine.family, theirs.given))


@lru_cache(maxsize=1 << 16)  # a person's names meet the same few thousand again
def _names_close(mine: str, theirs: str) -> bool:
    """Close enough to be one name written twice: similar, or one slip apart (KIM and GIM,
    whose similarity a short name keeps low)."""
    return (
        jellyfish.jaro_winkler_similarity(mine, theirs) >= NAME_SIMILARITY
        or jellyfish.damerau_levenshtein_distance(mine, theirs) <= 1
    )


def _births(identity: _Identity) -> tuple[dt.date, ...]:
    """The date of birth and its slips: a day either side, the day and month exchanged."""
    born = identity.born
    if born is None:
        return ()
    slips = [born, born - dt.timedelta(days=1), born + dt.timedelta(days=1)]
    if born.day <= 12 and born.day != born.month:
        slips.append(dt.date(born.year, born.day, born.month))
    return tuple(slips)


def _identities(session: Session, person_ids: Sequence[str]) -> dict[str, set[_Identity]]:
    """Each person's distinct (given name, family name, date of birth or None) over their
    records that give both names."""
    found: dict[str, set[_Identity]] = {}
    for r in record_identities(session, person_ids):
        if r.given and r.family:
            found.setdefault(r.person_id, set()).add(_Identity(r.given, r.family, r.born))
    return found


def _status_records(
    session: Session, births: Sequence[dt.date], initials: Sequence[str]
) -> dict[str, _Identity]:
    """Status-bearing records that give one of these dates of birth, or none and a family or
    given name starting with one of these initials: record -> the identity it gives.

    The undated ones are read through the indexes of migration 0018, and the persons of
    none: joined to the million person-record links, PostgreSQL, expecting a hundred times
    the few hundred records there are, would scan every link."""
    found: dict[str, _Identity] = {}
    dated = select(
        SourceRecord.record_id,
        SourceRecord.given_name,
        SourceRecord.family_name,
        SourceRecord.date_of_birth,
    ).where(status_record_filter())
    for dates in _chunks(births):
        for record_id, given, family, born in session.execute(
            dated.where(SourceRecord.date_of_birth.in_(dates))
        ):
            if given and family:
                found[record_id] = _Identity(given, family, born)
    for chunk in _chunks(initials):
        for record_id, given, family in session.execute(undated_status_statement(chunk)):
            if given and family:
                found[record_id] = _Identity(given, family, None)
    return found


def _persons_of(session: Session, record_ids: Sequence[str]) -> dict[str, str]:
    """record -> the person resolution placed it on (records on none are left out)."""
    found: dict[str, str] = {}
    for chunk in _chunks(record_ids):
        statement = select(PersonRecord.record_id, PersonRecord.person_id).where(
            PersonRecord.record_id.in_(chunk)
        )
        for record_id, person_id in session.execute(statement):
            found[record_id] = person_id
    return found


def undated_status_statement(initials: Sequence[str]) -> Select[str, str | None, str | None]:
    """The status-bearing records that give no date of birth and a family or given name
    starting with one of these initials: (record, given name, family name)."""
    return select(SourceRecord.record_id, SourceRecord.given_name, SourceRecord.family_name).where(
        status_record_filter(),
        SourceRecord.date_of_birth.is_(None),
        or_(
            _initial(SourceRecord.family_name).in_(initials),
            _initial(SourceRecord.given_name).in_(initials),
        ),
    )


def _initial(name: InstrumentedAttribute[str | None]) -> ColumnElement[str]:
    """The first character of a name, written as the indexes of migration 0018 index it
    (the constants inline: a planner matches an index's expression only to constants)."""
    return func.substr(name, literal_column("1"), literal_column("1"))


def _chunks(values: Sequence[_Value]) -> list[Sequence[_Value]]:
    return [values[start : start + CHUNK] for start in range(0, len(values), CHUNK)]
