"""Status records that may be a person's though resolution placed them elsewhere.

Resolution keeps a record apart from a person when the evidence for the link is too weak: a
status record whose name came through garbled, say, with no identifier shared. For most
purposes that is right. For a case it is not enough: a record that may show this person's
right to stay should stop the case until someone has looked, even on weak evidence. So a
status record that stops a case (see :mod:`caseline.profiles.status_evidence`) on another
person is a *possible match* when it gives one of the person's dates of birth (or its day
and month exchanged) and a given and a family name each close to one the person's records
give (Jaro-Winkler at least ``NAME_SIMILARITY``, or one slip apart).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import jellyfish
from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import PersonRecord, SourceRecord
from caseline.profiles.status_evidence import (
    StatusEvidence,
    load_status_records,
    status_by_person,
    status_record_filter,
)

NAME_SIMILARITY = 0.8
CHUNK = 5000  # values per IN (...) list


@dataclass(frozen=True, slots=True)
class NearbyStatus:
    """A stopping status record on another person that may be this person's."""

    person_id: str  # the person resolution placed it on
    evidence: StatusEvidence
    name: str  # as the record gives it
    date_of_birth: dt.date

    def describe(self) -> str:
        e = self.evidence
        return (
            f"{e.term.value} ({e.source} record {e.record_id}, {e.stated}, {e.on or 'undated'}) "
            f"of possible match {self.person_id}: {self.name}, born {self.date_of_birth}"
        )


@dataclass(frozen=True, slots=True)
class _Identity:
    given: str
    family: str
    born: dt.date


def possible_status_matches(
    session: Session, person_ids: Sequence[str], as_of: dt.date
) -> dict[str, list[NearbyStatus]]:
    """For each person, the stopping status records of possible matches on other persons
    (unaudited: the caller audits). Persons with none are left out."""
    identities = _identities(session, person_ids)
    births = {born for found in identities.values() for i in found for born in _births(i)}
    candidates = _status_records_born(session, sorted(births))  # record -> (person, identity)
    if not candidates:
        return {}
    others = sorted({person for person, _ in candidates.values()})
    statuses = status_by_person(load_status_records(session, others), as_of)
    stopping = [
        (person, evidence)
        for person, status in statuses.items()
        for evidence in status.stopping
        if evidence.record_id in candidates
    ]
    by_birth: dict[dt.date, list[tuple[str, StatusEvidence, _Identity]]] = {}
    for person, evidence in stopping:
        identity = candidates[evidence.record_id][1]
        by_birth.setdefault(identity.born, []).append((person, evidence, identity))
    found: dict[str, list[NearbyStatus]] = {}
    for person_id, own in identities.items():
        seen: set[str] = set()
        for mine in own:
            for born in _births(mine):
                for other, evidence, theirs in by_birth.get(born, ()):
                    if other == person_id or evidence.record_id in seen:
                        continue
                    if _close(mine, theirs):
                        seen.add(evidence.record_id)
                        found.setdefault(person_id, []).append(
                            NearbyStatus(
                                other, evidence, f"{theirs.given} {theirs.family}", theirs.born
                            )
                        )
    return found


def _close(mine: _Identity, theirs: _Identity) -> bool:
    return _names_close(mine.given, theirs.given) and _names_close(mine.family, theirs.family)


def _names_close(mine: str, theirs: str) -> bool:
    """Close enough to be one name written twice: similar, or one slip apart (KIM and GIM,
    whose similarity a short name keeps low)."""
    return (
        jellyfish.jaro_winkler_similarity(mine, theirs) >= NAME_SIMILARITY
        or jellyfish.damerau_levenshtein_distance(mine, theirs) <= 1
    )


def _births(identity: _Identity) -> tuple[dt.date, ...]:
    """The date of birth, and its day and month exchanged where that is another date."""
    born = identity.born
    if born.day > 12 or born.day == born.month:
        return (born,)
    return born, dt.date(born.year, born.day, born.month)


def _identities(session: Session, person_ids: Sequence[str]) -> dict[str, set[_Identity]]:
    """Each person's distinct (given name, family name, date of birth) over their records."""
    found: dict[str, set[_Identity]] = {}
    wanted = sorted(set(person_ids))
    for start in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(
                PersonRecord.person_id,
                SourceRecord.given_name,
                SourceRecord.family_name,
                SourceRecord.date_of_birth,
            )
            .join(SourceRecord, SourceRecord.record_id == PersonRecord.record_id)
            .where(PersonRecord.person_id.in_(wanted[start : start + CHUNK]))
            .where(SourceRecord.date_of_birth.is_not(None))
        )
        for person_id, given, family, born in rows:
            if given and family and born is not None:
                found.setdefault(person_id, set()).add(_Identity(given, family, born))
    return found


def _status_records_born(
    session: Session, births: Iterable[dt.date]
) -> dict[str, tuple[str, _Identity]]:
    """Status-bearing records that give one of these dates of birth: record -> (person,
    the identity the record gives)."""
    wanted = list(births)
    found: dict[str, tuple[str, _Identity]] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(
                SourceRecord.record_id,
                PersonRecord.person_id,
                SourceRecord.given_name,
                SourceRecord.family_name,
                SourceRecord.date_of_birth,
            )
            .join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
            .where(status_record_filter())
            .where(SourceRecord.date_of_birth.in_(wanted[start : start + CHUNK]))
        )
        for record_id, person_id, given, family, born in rows:
            if given and family and born is not None:
                found[record_id] = (person_id, _Identity(given, family, born))
    return found
