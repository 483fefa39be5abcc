"""What disputes change in what profiles see: read from the disputes table, never from cases.

A dispute's lifecycle (filing, review, a decision) is the cases layer's; its effect on what
is scored and shown is read here, so that profiles need not know about cases:

- a record under an open dispute (filed or under review) leaves every score;
- a record upheld as "not me" leaves the person at once, before the next resolution run
  (whose cannot-links then move it);
- an address upheld as "not my address" is not scored as the person's;
- a value upheld as wrong is shown corrected, beside the record that still states it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd
from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from caseline.db.models import Dispute, PersonRecord, SourceRecord
from caseline.profiles.address_evidence import address_key


class DisputeKind(StrEnum):
    NOT_ME = "not_me"  # the record is another person's
    NOT_MY_ADDRESS = "not_my_address"  # the address the record gives is not the person's
    STATUS = "status"  # the person's status is wrong, with the document that shows it
    VALUE = "value"  # one value of the record is wrong


class DisputeState(StrEnum):
    FILED = "filed"
    UNDER_REVIEW = "under_review"
    UPHELD = "upheld"
    REJECTED = "rejected"


OPEN_STATES = (DisputeState.FILED.value, DisputeState.UNDER_REVIEW.value)
# The values a value dispute may correct: those the profile shows.
CORRECTABLE = (
    "given_name",
    "middle_name",
    "family_name",
    "date_of_birth",
    "sex",
    "citizenship",
    "country_of_birth",
)


@dataclass(frozen=True, slots=True)
class RecordDispute:
    """A dispute as a profile shows it beside the record it is about."""

    id: int
    person_id: str  # the person it was filed against
    record_id: str
    kind: DisputeKind
    state: DisputeState
    field: str | None
    claimed_value: str | None
    filed_at: dt.datetime
    decided_at: dt.datetime | None

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True, slots=True)
class DisputedFacts:
    """One person's disputes and what they take out of, or change in, what is scored."""

    person_id: str
    disputes: tuple[RecordDispute, ...]
    address_keys: frozenset[str]  # addresses upheld as not the person's

    @property
    def unscored(self) -> frozenset[str]:
        """Records no score may use: under open dispute, or upheld as another person's."""
        return frozenset(d.record_id for d in self.disputes if d.open or self.removed(d))

    @property
    def removed_records(self) -> frozenset[str]:
        return frozenset(d.record_id for d in self.disputes if self.removed(d))

    @property
    def corrections(self) -> dict[tuple[str, str], str]:
        """(record, field) -> the corrected value, from upheld value disputes (latest wins)."""
        return {
            (d.record_id, d.field): d.claimed_value
            for d in sorted(self.disputes, key=lambda d: d.id)
            if d.kind is DisputeKind.VALUE
            and d.state is DisputeState.UPHELD
            and d.field
            and d.claimed_value is not None
        }

    def removed(self, dispute: RecordDispute) -> bool:
        """Upheld as not this person's (once a resolution run has moved the record to
        another person, it is that person's, and this no longer applies to them)."""
        return (
            dispute.kind is DisputeKind.NOT_ME
            and dispute.state is DisputeState.UPHELD
            and dispute.person_id == self.person_id
        )


def disputed_facts(session: Session, person_id: str) -> DisputedFacts:
    """The disputes on a person's records (filed against the person, or about a record the
    person holds now), and the addresses upheld as not theirs."""
    held = select(PersonRecord.record_id).where(PersonRecord.person_id == person_id)
    rows = session.scalars(
        select(Dispute)
        .where(or_(Dispute.person_id == person_id, Dispute.record_id.in_(held)))
        .order_by(Dispute.id)
    ).all()
    disputes = tuple(_as_record_dispute(row) for row in rows)
    keys = frozenset(
        str(row.effect.get("address_key"))
        for row in rows
        if row.kind == DisputeKind.NOT_MY_ADDRESS
        and row.state == DisputeState.UPHELD
        and row.person_id == person_id
        and row.effect.get("address_key")
    )
    return DisputedFacts(person_id, disputes, keys)


def still_scored() -> ColumnElement[bool]:
    """A condition on (PersonRecord, SourceRecord) rows: the record may be scored: it is
    under no open dispute, and not upheld as another person's while resolution still holds
    it in this person."""
    return ~exists(
        select(Dispute.id).where(
            Dispute.record_id == SourceRecord.record_id,
            or_(
                Dispute.state.in_(OPEN_STATES),
                and_(
                    Dispute.person_id == PersonRecord.person_id,
                    Dispute.kind == DisputeKind.NOT_ME.value,
                    Dispute.state == DisputeState.UPHELD.value,
                ),
            ),
        )
    )


def corrected(record: SourceRecord, corrections: dict[tuple[str, str], str]) -> SourceRecord:
    """The record with its upheld corrections applied, as a copy never added to a session:
    the stored record keeps what its source said."""
    fixes = {name: value for (rid, name), value in corrections.items() if rid == record.record_id}
    if not fixes:
        return record
    values = {c.key: getattr(record, c.key) for c in SourceRecord.__table__.columns}
    for name, value in fixes.items():
        values[name] = dt.date.fromisoformat(value) if name == "date_of_birth" else value
    return SourceRecord(**values)


def _as_record_dispute(row: Dispute) -> RecordDispute:
    return RecordDispute(
        id=row.id,
        person_id=row.person_id,
        record_id=row.record_id,
        kind=DisputeKind(row.kind),
        state=DisputeState(row.state),
        field=row.field,
        claimed_value=row.claimed_value,
        filed_at=row.filed_at,
        decided_at=row.decided_at,
    )


def scored_records(records: pd.DataFrame, facts: DisputedFacts) -> pd.DataFrame:
    """The address records a score may use: none under open dispute or upheld as another
    person's, none at an address upheld as not the person's."""
    if records.empty or not (facts.unscored or facts.address_keys):
        return records
    keep = ~records["record_id"].isin(list(facts.unscored))
    if facts.address_keys:
        keys = [
            address_key(*parts)
            for parts in records[["street_number", "street", "unit", "postcode"]].itertuples(
                index=False
            )
        ]
        keep &= pd.Series([key not in facts.address_keys for key in keys], index=records.index)
    return records[keep]
