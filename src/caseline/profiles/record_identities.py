"""The names and date of birth each of a person's records gives: what tells namesakes apart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import PersonRecord, SourceRecord

CHUNK = 5000  # ids per IN (...) list: well under SQLite's bound on parameters


@dataclass(frozen=True, slots=True)
class RecordIdentity:
    person_id: str
    record_id: str
    given: str | None
    family: str | None
    born: dt.date | None


def record_identities(session: Session, person_ids: Sequence[str]) -> Iterator[RecordIdentity]:
    """Every record of these persons with the given name, family name and date of birth it
    gives (unaudited: the caller audits), a chunk of persons at a time, by person and record
    id (callers break ties between dates of birth in this order)."""
    wanted = sorted(set(person_ids))
    for start in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(
                PersonRecord.person_id,
                PersonRecord.record_id,
                SourceRecord.given_name,
                SourceRecord.family_name,
                SourceRecord.date_of_birth,
            )
            .join(SourceRecord, SourceRecord.record_id == PersonRecord.record_id)
            .where(PersonRecord.person_id.in_(wanted[start : start + CHUNK]))
            .order_by(PersonRecord.person_id, PersonRecord.record_id)
        )
        for row in rows:
            yield RecordIdentity(*row)
