"""SQLAlchemy models of the service database.

The record store is append-only: a source record is never edited in place; resolution
writes persons and memberships beside it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, dt.datetime: DateTime(timezone=True)}


class IngestRun(Base):
    """One source file loaded once; the (source, sha256) pair makes re-ingest a no-op."""

    __tablename__ = "ingest_runs"
    __table_args__ = (UniqueConstraint("source", "file_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(1024))
    file_sha256: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    loaded: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    value_issues: Mapped[int] = mapped_column(Integer, default=0)


class SourceRecord(Base):
    """One record of one source, standardised, with its provenance."""

    __tablename__ = "source_records"
    __table_args__ = (UniqueConstraint("source", "source_key"),)

    record_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    source_key: Mapped[str] = mapped_column(String(256))
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("ingest_runs.id"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    observed_on: Mapped[dt.date | None] = mapped_column(Date)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    full_name_raw: Mapped[str | None] = mapped_column(String(512))
    given_name: Mapped[str | None] = mapped_column(String(128), index=True)
    middle_name: Mapped[str | None] = mapped_column(String(128))
    family_name: Mapped[str | None] = mapped_column(String(128), index=True)
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date, index=True)
    sex: Mapped[str | None] = mapped_column(String(1))
    suffix: Mapped[str | None] = mapped_column(String(8))
    ssn_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    itin_hash: Mapped[str | None] = mapped_column(String(64))
    a_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    passport_hash: Mapped[str | None] = mapped_column(String(64))
    licence_hash: Mapped[str | None] = mapped_column(String(64))
    other_id_hash: Mapped[str | None] = mapped_column(String(64))
    # Per identifier, keyed hashes of its one-slip forms (see standardise.typo_keys), as
    # 'ssn:k,k,...;a_number:k,...': what lets resolution see a mistyped number.
    identifier_typo_keys: Mapped[str | None] = mapped_column(Text)
    citizenship: Mapped[str | None] = mapped_column(String(64))
    country_of_birth: Mapped[str | None] = mapped_column(String(64))
    address_raw: Mapped[str | None] = mapped_column(String(512))
    street_number: Mapped[str | None] = mapped_column(String(32))
    street: Mapped[str | None] = mapped_column(String(256))
    unit: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str | None] = mapped_column(String(16))
    postcode: Mapped[str | None] = mapped_column(String(10))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class QuarantinedRow(Base):
    """A row that could not be loaded, with where and why; the rows around it still load."""

    __tablename__ = "quarantined_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("ingest_runs.id"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)


class RecordValueIssue(Base):
    """A value left out of a loaded record because it could not be used, and why."""

    __tablename__ = "record_value_issues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("ingest_runs.id"), index=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("source_records.record_id"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text)


class ResolutionRun(Base):
    """One run of entity resolution: which model, which threshold, how many persons."""

    __tablename__ = "resolution_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    engine: Mapped[str] = mapped_column(String(16))
    model_path: Mapped[str] = mapped_column(String(1024))
    threshold: Mapped[float] = mapped_column(Float)
    record_count: Mapped[int] = mapped_column(Integer, default=0)
    person_count: Mapped[int] = mapped_column(Integer, default=0)


class Person(Base):
    """A resolved person: the records that resolution placed together."""

    __tablename__ = "persons"

    person_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    resolution_run_id: Mapped[int] = mapped_column(ForeignKey("resolution_runs.id"))
    record_count: Mapped[int] = mapped_column(Integer)
    display_name: Mapped[str] = mapped_column(String(512), index=True)
    # How sure resolution is that these records are one person (0-1), and why.
    assurance: Mapped[float | None] = mapped_column(Float)
    assurance_evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PersonRecord(Base):
    """Membership of a source record in a person (exactly one person per record)."""

    __tablename__ = "person_records"

    record_id: Mapped[str] = mapped_column(ForeignKey("source_records.record_id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.person_id"), index=True)


class PersonEvent(Base):
    """A change of persons between two resolution runs: a merge or a split, with the ids."""

    __tablename__ = "person_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resolution_run_id: Mapped[int] = mapped_column(ForeignKey("resolution_runs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # merge | split
    person_id: Mapped[str] = mapped_column(String(16), index=True)
    # merge: the earlier persons whose records it now holds; split: the persons it became
    related_person_ids: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    record_count: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PersonNameWord(Base):
    """One word of a name some record of the person gives, for search: rebuilt by each
    resolution run, kept up by incremental placement (no foreign key: persons are replaced
    wholesale by a run)."""

    __tablename__ = "person_name_words"

    word: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)


class LinkDecision(Base):
    """A reviewer's decision that two records are (or are not) one person; append-only, the
    latest decision on a pair wins, and every later resolution run respects it."""

    __tablename__ = "link_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    left_record_id: Mapped[str] = mapped_column(ForeignKey("source_records.record_id"), index=True)
    right_record_id: Mapped[str] = mapped_column(ForeignKey("source_records.record_id"))
    decision: Mapped[str] = mapped_column(String(32))  # same_person | different_persons
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(Base):
    """Someone who signs in; their role decides what the server lets them do."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # The name folded to lower case: names are case-insensitive, so this one is unique.
    username_key: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[dt.datetime | None]


class UserSession(Base):
    """A signed-in session; only the token's hash is stored."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]  # the absolute end, however busy the session is
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # for the idle end


class ApiToken(Base):
    """A token a script acts with: a named service identity with one role, until it expires
    or is revoked. Only the token's hash is stored; the token is shown once, when made."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # lower case
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[dt.datetime | None]


class PurposeRequest(Base):
    """A purpose in words that a supervisor must countersign before it allows what it asks:
    reading one person (``scope`` ``person:ID``) or a bulk export (``export:FORMAT``)."""

    __tablename__ = "purpose_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requested_by: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(256))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(16), index=True)  # None: pending
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(String(256))  # why it was declined


class Dispute(Base):
    """A dispute a legal representative filed about one record of a person, and its review.

    ``filed`` and ``under_review`` are open: the record leaves every score until it is
    decided. An upheld dispute's effect is a new fact beside the record, never an edit: a
    cannot-link, the address marked not the person's, a status record added, or a value
    corrected (``field``, ``corrected_value``, kept here with the record it corrects).
    """

    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(16), index=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("source_records.record_id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # not_me | not_my_address | status | value
    state: Mapped[str] = mapped_column(String(16), index=True)
    grounds: Mapped[str] = mapped_column(Text)
    document: Mapped[str | None] = mapped_column(String(256))  # the reference it rests on
    field: Mapped[str | None] = mapped_column(String(64))  # a value dispute's field
    claimed_value: Mapped[str | None] = mapped_column(String(256))  # the value or status
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reviewer: Mapped[str | None] = mapped_column(String(64))
    review_started_at: Mapped[dt.datetime | None]
    decided_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)  # the reviewer's
    effect: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what upholding did


class SignInThrottle(Base):
    """Failed sign-ins counted per account name and per client address, and any lock."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime]
    locked_until: Mapped[dt.datetime | None]


class AuditEvent(Base):
    """Append-only, hash-chained record of who read or changed what, and why."""

    __tablename__ = "audit_events"
    # A unique predecessor makes the chain a line: two writers can never fork it.
    __table_args__ = (UniqueConstraint("prev_hash"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    purpose: Mapped[str | None] = mapped_column(String(256))
    case_id: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Case(Base):
    """A case against one person, from the lead or analyst that opened it to its outcome.

    ``version`` rises with every transition: a transition names the version it saw, so of two
    concurrent ones only the first applies.
    """

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # What opened it: a lead rule with what it found and the records behind it, or an analyst
    # with a reason.
    origin: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    address: Mapped[str | None] = mapped_column(String(512))  # where an action is proposed
    deadline: Mapped[dt.date | None] = mapped_column(Date)  # a voluntary departure's
    assigned_to: Mapped[str | None] = mapped_column(  # who works it: its opener, first
        String(64), index=True, default=lambda ctx: ctx.get_current_parameters()["opened_by"]
    )


class CaseTransition(Base):
    """One step of a case: who took it, when, why, the guards' results, and the dossier."""

    __tablename__ = "case_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    guards: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dossier: Mapped[str | None] = mapped_column(Text)  # canonical JSON, as hashed
    dossier_sha256: Mapped[str | None] = mapped_column(String(64))


class RetentionFlag(Base):
    """A person who lost records to a retention purge, once per open case on them (``case_id``
    None: no case was open). A case's guards read it as a change to the person."""

    __tablename__ = "retention_flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)  # one `retention apply`
    applied_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    applied_by: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[dt.date] = mapped_column(Date)
    person_id: Mapped[str] = mapped_column(String(16), index=True)
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    records_lost: Mapped[int] = mapped_column(Integer)
    records_left: Mapped[int] = mapped_column(Integer)  # 0: the person was removed
    sources: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # source -> lost


class ReviewPair(Base):
    """A pair of records a reviewer should look at, stored by the resolution run that scored
    it: near the threshold (``why`` near_threshold) or a low-assurance person's weakest link
    (low_assurance). ``rank`` orders the queue, most uncertain first. The queue stamps its
    outcome here (same_person | different_persons | unsure); the first two also go to
    link_decisions, which later runs obey. No foreign key to records: a purge may remove them.
    """

    __tablename__ = "review_pairs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resolution_run_id: Mapped[int] = mapped_column(ForeignKey("resolution_runs.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    left_record_id: Mapped[str] = mapped_column(String(64), index=True)
    right_record_id: Mapped[str] = mapped_column(String(64), index=True)
    match_probability: Mapped[float] = mapped_column(Float)
    why: Mapped[str] = mapped_column(String(16))  # near_threshold | low_assurance
    left_person_id: Mapped[str | None] = mapped_column(String(16))
    right_person_id: Mapped[str | None] = mapped_column(String(16))
    decision: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None]


class PriorityPolicyVersion(Base):
    """One version of the priority policy: its YAML as proposed, who proposed it, the impact
    measured then, and (once a second person published it) who published it and when. Never
    edited after publication; the published version with the highest number whose
    ``effective_from`` has come is in force."""

    __tablename__ = "priority_policy_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)  # the YAML as proposed
    sha256: Mapped[str] = mapped_column(String(64))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    impact: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the report at proposal
    published_by: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[dt.datetime | None]
