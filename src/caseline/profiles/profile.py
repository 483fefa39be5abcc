"""A person's profile: best-known attributes with their support, every record with provenance."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import IngestRun, Person, PersonRecord, SourceRecord
from caseline.errors import NotFoundError
from caseline.oversight import (
    Actor,
    AuditEntry,
    Permission,
    authorize,
    record_event,
    require_purpose,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AttributeValue(Generic[T]):
    """One value of an attribute and how many of the person's records state it."""

    value: T
    supporting_records: int


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    record_id: str
    source: str
    source_key: str
    observed_on: dt.date | None
    name: str
    date_of_birth: dt.date | None
    address: str | None
    file_name: str
    line_number: int
    file_sha256: str
    ingest_run_id: int


@dataclass(frozen=True, slots=True)
class Profile:
    person_id: str
    names: list[AttributeValue[str]]
    dates_of_birth: list[AttributeValue[dt.date]]
    records: list[ProfileRecord]

    @property
    def best_name(self) -> str:
        return self.names[0].value if self.names else "(no name)"

    @property
    def best_date_of_birth(self) -> dt.date | None:
        return self.dates_of_birth[0].value if self.dates_of_birth else None

    @property
    def records_by_source(self) -> dict[str, list[ProfileRecord]]:
        grouped: dict[str, list[ProfileRecord]] = {}
        for record in self.records:
            grouped.setdefault(record.source, []).append(record)
        return grouped


def read_profile(session: Session, person_id: str, *, actor: Actor, purpose: str | None) -> Profile:
    """The profile of one person; refused without a role and purpose, and always audited."""
    authorize(actor, Permission.READ_PERSON)
    purpose = require_purpose(purpose)
    if session.get(Person, person_id) is None:
        raise NotFoundError(f"no person {person_id!r}")
    rows = session.execute(
        select(SourceRecord, IngestRun.file_name, IngestRun.file_sha256)
        .join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
        .join(IngestRun, IngestRun.id == SourceRecord.ingest_run_id)
        .where(PersonRecord.person_id == person_id)
        .order_by(SourceRecord.source, SourceRecord.observed_on, SourceRecord.source_key)
    ).all()
    records = [_profile_record(r, file_name, sha) for r, file_name, sha in rows]
    record_event(
        session,
        AuditEntry.by(
            actor,
            "read_person",
            "person",
            object_id=person_id,
            purpose=purpose,
        ),
    )
    return Profile(
        person_id=person_id,
        names=_ranked(_given_family(r) for r, _, _ in rows if r.given_name or r.family_name),
        dates_of_birth=_ranked(r.date_of_birth for r in records if r.date_of_birth),
        records=records,
    )


def _ranked(values: Iterable[T]) -> list[AttributeValue[T]]:
    counts = Counter(values)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
    return [AttributeValue(value, count) for value, count in ordered]


def _given_family(r: SourceRecord) -> str:
    # Ranked without the middle name, so "ANA MARIA LOPEZ" and "ANA LOPEZ" support one name.
    return " ".join(filter(None, (r.given_name, r.family_name)))


def _profile_record(r: SourceRecord, file_name: str, sha: str) -> ProfileRecord:
    street = " ".join(
        filter(None, (r.street_number, r.street, f"APT {r.unit}" if r.unit else None))
    )
    place = " ".join(filter(None, (r.city, r.state, r.postcode)))
    return ProfileRecord(
        record_id=r.record_id,
        source=r.source,
        source_key=r.source_key,
        observed_on=r.observed_on,
        name=" ".join(filter(None, (r.given_name, r.middle_name, r.family_name))),
        date_of_birth=r.date_of_birth,
        address=", ".join(filter(None, (street, place))) or None,
        file_name=file_name,
        line_number=r.line_number,
        file_sha256=sha,
        ingest_run_id=r.ingest_run_id,
    )
