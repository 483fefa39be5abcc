"""One record of a person as it was ingested, with the values left out of it, and the
person's timeline of records and status events.

Unaudited: the callers read them inside the audited read of the person's profile (the web
profile page, ``GET /api/persons/{id}/records/{record_id}``), and only for records the
person holds, so no other person's record is read here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import IngestRun, PersonRecord, RecordValueIssue, SourceRecord
from caseline.errors import NotFoundError
from caseline.profiles.disputed import disputed_facts
from caseline.profiles.profile import Profile

# The stored fields shown, in the order of the record; identifiers only as a fingerprint of
# their keyed hash (as the profile shows them), never the hash itself.
_SHOWN_FIELDS = (
    "given_name", "middle_name", "family_name", "suffix", "date_of_birth", "sex",
    "citizenship", "country_of_birth", "street_number", "street", "unit", "city", "state",
    "postcode", "observed_on", "valid_from", "valid_to",
)  # fmt: skip
_IDENTIFIER_FIELDS = (
    "ssn_hash", "itin_hash", "a_number_hash", "passport_hash", "licence_hash", "other_id_hash",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ValueIssue:
    """A value the source gave that was left out of the record, and why."""

    field: str
    reason: str
    value: str


@dataclass(frozen=True, slots=True)
class RecordDetails:
    """A record as ingested: where it came from, its raw name and address text, every
    stored field that holds a value, and the values left out of it."""

    record_id: str
    source: str
    source_key: str
    file_name: str
    line_number: int
    file_sha256: str
    ingest_run_id: int
    observed_on: dt.date | None
    valid_from: dt.date | None
    name_as_stated: str | None
    address_as_stated: str | None
    fields: tuple[tuple[str, str], ...]  # (field, value) for each stored value
    issues: tuple[ValueIssue, ...]

    @property
    def dated(self) -> dt.date | None:
        """The day the record speaks for: observed, else valid from."""
        return self.observed_on or self.valid_from


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    on: dt.date | None
    kind: str  # record | status | border
    text: str
    record_id: str


def record_details(session: Session, person_id: str, record_id: str) -> RecordDetails:
    """The one record of the person, as ingested; NotFoundError unless the person holds it
    (a record upheld as another person's is no longer the person's)."""
    found = records_details(session, person_id, [record_id])
    if record_id not in found:
        raise NotFoundError(f"person {person_id!r} holds no record {record_id!r}")
    return found[record_id]


def records_details(
    session: Session, person_id: str, record_ids: Collection[str]
) -> dict[str, RecordDetails]:
    """Those of ``record_ids`` the person holds, by record id, each as ingested."""
    wanted = set(record_ids) - disputed_facts(session, person_id).removed_records
    if not wanted:
        return {}
    rows = session.execute(
        select(SourceRecord, IngestRun.file_name, IngestRun.file_sha256)
        .join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
        .join(IngestRun, IngestRun.id == SourceRecord.ingest_run_id)
        .where(PersonRecord.person_id == person_id, SourceRecord.record_id.in_(wanted))
    ).all()
    issues: dict[str, list[ValueIssue]] = {}
    held = [record.record_id for record, _, _ in rows]
    for issue in session.scalars(
        select(RecordValueIssue)
        .where(RecordValueIssue.record_id.in_(held))
        .order_by(RecordValueIssue.id)
    ):
        issues.setdefault(issue.record_id, []).append(
            ValueIssue(issue.field, issue.reason, issue.value)
        )
    return {
        record.record_id: _details(record, file_name, sha, issues.get(record.record_id, []))
        for record, file_name, sha in rows
    }


def person_timeline(profile: Profile, details: Mapping[str, RecordDetails]) -> list[TimelineEntry]:
    """The person's records, status evidence and border crossings, oldest first; undated
    entries last. ``details`` gives each record's day (observed, else valid from)."""
    entries = [
        TimelineEntry(
            details[r.record_id].dated if r.record_id in details else r.observed_on,
            "record",
            f"{r.source.replace('_', ' ')} record {r.source_key}",
            r.record_id,
        )
        for r in profile.records
    ]
    if profile.status is not None:
        entries += [
            TimelineEntry(
                e.on, "status", f"{e.term.value.replace('_', ' ')}: {e.stated}", e.record_id
            )
            for e in profile.status.evidence
        ]
        entries += [
            TimelineEntry(
                b.on,
                "border",
                f"border {b.direction.lower()} at {b.port or 'unknown port'}",
                b.record_id,
            )
            for b in profile.status.border
        ]
    order = {"record": 0, "status": 1, "border": 2}
    return sorted(
        entries, key=lambda e: (e.on is None, e.on or dt.date.min, order[e.kind], e.record_id)
    )


def _details(
    record: SourceRecord, file_name: str, sha: str, issues: list[ValueIssue]
) -> RecordDetails:
    fields = [
        (name, value.isoformat() if isinstance(value, dt.date) else str(value))
        for name in _SHOWN_FIELDS
        if (value := getattr(record, name)) not in (None, "")
    ]
    fields += [
        (name.removesuffix("_hash"), f"#{value[:10]}")
        for name in _IDENTIFIER_FIELDS
        if (value := getattr(record, name))
    ]
    extra = sorted((record.extra or {}).items())
    fields += [(f"extra.{key}", str(value)) for key, value in extra if value not in (None, "")]
    return RecordDetails(
        record_id=record.record_id,
        source=record.source,
        source_key=record.source_key,
        file_name=file_name,
        line_number=record.line_number,
        file_sha256=sha,
        ingest_run_id=record.ingest_run_id,
        observed_on=record.observed_on,
        valid_from=record.valid_from,
        name_as_stated=record.full_name_raw,
        address_as_stated=record.address_raw,
        fields=tuple(fields),
        issues=tuple(issues),
    )
