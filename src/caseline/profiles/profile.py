"""A person's profile: best-known attributes with their support, every record with provenance."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import IngestRun, Person, PersonRecord, SourceRecord
from caseline.errors import NotFoundError
from caseline.oversight import Actor, PersonRead, permit
from caseline.profiles.address_confidence import PersonAddresses, person_addresses
from caseline.profiles.disputed import RecordDispute, corrected, disputed_facts
from caseline.profiles.kept_profiles import kept_profiles
from caseline.profiles.status_evidence import PersonStatus, load_status_records, person_status

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AttributeValue(Generic[T]):
    """One value of an attribute and the person's records that state it. An attribute's
    values are all kept, most supported first: two dates of birth are a conflict to show."""

    value: T
    supporting_records: int
    record_ids: tuple[str, ...] = ()


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
    # Identifiers are shown by a fingerprint of their keyed hash: enough to see that two
    # records carry two different SSNs without showing either.
    identifiers: dict[str, list[AttributeValue[str]]] = field(default_factory=dict)
    sexes: list[AttributeValue[str]] = field(default_factory=list)
    citizenships: list[AttributeValue[str]] = field(default_factory=list)
    countries_of_birth: list[AttributeValue[str]] = field(default_factory=list)
    assurance: float | None = None
    assurance_evidence: dict[str, Any] | None = None
    addresses: PersonAddresses | None = None
    status: PersonStatus | None = None  # status evidence and border crossings
    # Disputes on the person's records, open and decided; records upheld as another
    # person's are no longer shown, and upheld corrections are shown in the values.
    disputes: tuple[RecordDispute, ...] = ()

    @property
    def conflicts(self) -> list[str]:
        """The attributes with more than one value."""
        named: dict[str, list[Any]] = {
            "date of birth": self.dates_of_birth,
            "sex": self.sexes,
            **{kind.replace("_", " "): values for kind, values in self.identifiers.items()},
        }
        return [name for name, values in named.items() if len(values) > 1]

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


def read_profile(
    session: Session,
    person_id: str,
    *,
    actor: Actor,
    purpose: str | None,
    as_of: dt.date | None = None,
    case_id: str | None = None,
) -> Profile:
    """The profile of one person, its addresses scored at ``as_of`` (today by default);
    refused without a role and purpose, and always audited (with the case it was read for).
    Built once per state of the records (:mod:`caseline.profiles.kept_profiles`)."""
    allowed = permit(actor, PersonRead, purpose)
    day = as_of or dt.date.today()
    profile = kept_profile(session, person_id, day)
    assert profile.addresses is not None
    # The leads show another person's records: the read names them too.
    allowed.record(
        session,
        PersonRead(
            person_id=person_id,
            as_of=day.isoformat(),
            lead_records=tuple(profile.addresses.lead_records),
            case_id=case_id,
        ),
    )
    return profile


def kept_profile(session: Session, person_id: str, as_of: dt.date) -> Profile:
    """:func:`build_profile`, built once per state of the records and kept (unaudited)."""
    return kept_profiles.get(session, person_id, as_of, build_profile)


def build_profile(session: Session, person_id: str, as_of: dt.date) -> Profile:
    """The profile, unaudited: for :func:`read_profile` and for layers that audit the read
    themselves (a case step that keeps the profile in its dossier)."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFoundError(f"no person {person_id!r}")
    rows = session.execute(
        select(SourceRecord, IngestRun.file_name, IngestRun.file_sha256)
        .join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
        .join(IngestRun, IngestRun.id == SourceRecord.ingest_run_id)
        .where(PersonRecord.person_id == person_id)
        .order_by(SourceRecord.source, SourceRecord.observed_on, SourceRecord.source_key)
    ).all()
    disputed = disputed_facts(session, person_id)
    rows = [row for row in rows if row[0].record_id not in disputed.removed_records]
    records = [_profile_record(r, file_name, sha) for r, file_name, sha in rows]
    stored = [corrected(r, disputed.corrections) for r, _, _ in rows]
    status = person_status(load_status_records(session, [person_id]), as_of)
    return Profile(
        person_id=person_id,
        names=_ranked((r.record_id, _given_family(r)) for r in stored),
        dates_of_birth=_ranked((r.record_id, r.date_of_birth) for r in stored),
        records=records,
        identifiers={
            kind: values
            for kind, column in IDENTIFIER_KINDS.items()
            if (values := _ranked((r.record_id, _fingerprint(getattr(r, column))) for r in stored))
        },
        sexes=_ranked((r.record_id, r.sex) for r in stored),
        citizenships=_ranked((r.record_id, r.citizenship) for r in stored),
        countries_of_birth=_ranked((r.record_id, r.country_of_birth) for r in stored),
        assurance=person.assurance,
        assurance_evidence=person.assurance_evidence,
        addresses=person_addresses(session, person_id, as_of, status=status, disputed=disputed),
        status=status,
        disputes=disputed.disputes,
    )


IDENTIFIER_KINDS = {
    "ssn": "ssn_hash",
    "itin": "itin_hash",
    "a_number": "a_number_hash",
    "passport": "passport_hash",
    "licence": "licence_hash",
    "other_id": "other_id_hash",
}


def _fingerprint(keyed_hash: str | None) -> str | None:
    return f"#{keyed_hash[:10]}" if keyed_hash else None


def _ranked(stated: Iterable[tuple[str, T | None]]) -> list[AttributeValue[T]]:
    """Each value with the records that state it, most supported first (ties by value)."""
    supporters: dict[T, list[str]] = defaultdict(list)
    for record_id, value in stated:
        if value is not None and value != "":
            supporters[value].append(record_id)
    ordered = sorted(supporters.items(), key=lambda item: (-len(item[1]), str(item[0])))
    return [AttributeValue(value, len(ids), tuple(sorted(ids))) for value, ids in ordered]


def _given_family(r: SourceRecord) -> str | None:
    # Ranked without the middle name, so "ANA MARIA LOPEZ" and "ANA LOPEZ" support one name.
    return " ".join(filter(None, (r.given_name, r.family_name))) or None


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
