"""What a person's records say about their immigration status, and their border crossings.

Each record that speaks to status (a benefit granted or applied for, a hearing's outcome, a
US passport at the border, a mapped file's ``status``) becomes one piece of evidence in the
vocabulary of :mod:`caseline.standardise.status`, dated, with the words it came from. A case's
status guard stops on any piece that shows the person may be here, or whose meaning is unclear.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from caseline.db.models import PersonRecord, SourceRecord
from caseline.profiles.disputed import still_scored
from caseline.standardise.status import PROTECTIVE, STOPPING, StatusTerm

# Without a stated expiry a visa admits its holder for six years from the first entry on it
# (from issue if no entry is on record): longer than most student and work visas run, so
# that doubt stops a case rather than lets it through.
VISA_YEARS = 6
US_NATIONALITY = frozenset({"UNITED STATES", "USA", "US", "U.S.", "UNITED STATES OF AMERICA"})
STATUS_SOURCES = ("immigration_status", "court", "entry_exit")

_TERMS = frozenset(term.value for term in StatusTerm)
_GRANTED = {
    "PERMANENT_RESIDENCE": StatusTerm.PERMANENT_RESIDENT,
    "NATURALISATION": StatusTerm.NATURALISED_CITIZEN,
    "NATURALIZATION": StatusTerm.NATURALISED_CITIZEN,
    "ASYLUM": StatusTerm.RELIEF_GRANTED,
    "TPS": StatusTerm.PROTECTED_STATUS,
}
# An application for one benefit is decided under another's name.
_DECIDED_AS = {"ADJUSTMENT": "PERMANENT_RESIDENCE", "NATURALIZATION": "NATURALISATION"}
_OUTCOMES = {
    "REMOVAL_ORDERED": StatusTerm.REMOVAL_ORDER,
    "VOLUNTARY_DEPARTURE_GRANTED": StatusTerm.VOLUNTARY_DEPARTURE,
    "CONTINUED": StatusTerm.IN_PROCEEDINGS,
    "RELIEF_GRANTED": StatusTerm.RELIEF_GRANTED,
}


@dataclass(frozen=True, slots=True)
class StatusEvidence:
    record_id: str
    source: str
    term: StatusTerm
    on: dt.date | None
    stated: str  # the source's own words, e.g. "GRANTED PERMANENT_RESIDENCE"
    deadline: dt.date | None = None  # a voluntary departure's

    @property
    def protective(self) -> bool:
        return self.term in PROTECTIVE

    @property
    def stops(self) -> bool:
        """Whether this evidence stops a case until a legal reviewer clears it."""
        return self.term in STOPPING


@dataclass(frozen=True, slots=True)
class BorderEvent:
    record_id: str
    direction: str  # ENTRY | EXIT
    on: dt.date | None
    port: str | None
    nationality: str | None


@dataclass(frozen=True, slots=True)
class PersonStatus:
    as_of: dt.date
    evidence: list[StatusEvidence]  # oldest first
    border: list[BorderEvent]  # oldest first

    @property
    def stopping(self) -> list[StatusEvidence]:
        return [e for e in self.evidence if e.stops]

    @property
    def departed_on(self) -> dt.date | None:
        """The last exit on record, if no entry followed it."""
        dated = [b for b in self.border if b.on is not None]
        if dated and dated[-1].direction == "EXIT":
            return dated[-1].on
        return None


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """The columns of a stored record that status evidence is read from."""

    record_id: str
    person_id: str
    source: str
    observed_on: dt.date | None
    citizenship: str | None
    extra: dict[str, Any]


def load_status_records(
    session: Session, person_ids: Sequence[str] | None = None
) -> list[StatusRecord]:
    """The records of persons (all, or these) that can speak to status or the border."""
    statement = (
        select(
            SourceRecord.record_id,
            PersonRecord.person_id,
            SourceRecord.source,
            SourceRecord.observed_on,
            SourceRecord.citizenship,
            SourceRecord.extra,
        )
        .join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
        .where(status_record_filter(), still_scored())
    )
    if person_ids is not None:
        statement = statement.where(PersonRecord.person_id.in_(list(person_ids)))
    return [StatusRecord(*row) for row in session.execute(statement)]


def in_country_since(
    session: Session, person_ids: Sequence[str] | None = None
) -> dict[str, dt.date]:
    """Per person, the earliest dated record that places them at an address in the country:
    any record with a street, other than a border crossing or an immigration filing (a visa
    is issued abroad, to a mailing address)."""
    statement = (
        select(PersonRecord.person_id, func.min(SourceRecord.observed_on))
        .join(SourceRecord, SourceRecord.record_id == PersonRecord.record_id)
        .where(
            SourceRecord.street.is_not(None),
            SourceRecord.observed_on.is_not(None),
            SourceRecord.source.not_in(("entry_exit", "immigration_status")),
        )
        .group_by(PersonRecord.person_id)
    )
    found: dict[str, dt.date] = {}
    wanted = None if person_ids is None else sorted(set(person_ids))
    chunks = (
        [None] if wanted is None else [wanted[i : i + 5000] for i in range(0, len(wanted), 5000)]
    )
    for chunk in chunks:
        chosen = statement if chunk is None else statement.where(PersonRecord.person_id.in_(chunk))
        found.update((person, first) for person, first in session.execute(chosen) if first)
    return found


def status_record_filter() -> ColumnElement[bool]:
    """The condition on source records that can speak to status or the border."""
    return or_(
        SourceRecord.source.in_(STATUS_SOURCES),
        SourceRecord.citizenship.is_not(None),
        SourceRecord.extra["status"].as_string().is_not(None),  # a mapped file's
    )


def person_status(records: Iterable[StatusRecord], as_of: dt.date) -> PersonStatus:
    """One person's status evidence and border crossings known on ``as_of``."""
    known = sorted(
        (r for r in records if r.observed_on is None or r.observed_on <= as_of),
        key=lambda r: (r.observed_on or dt.date.min, r.record_id),
    )
    evidence: list[StatusEvidence] = []
    border: list[BorderEvent] = []
    for record in known:
        evidence += _evidence(record, as_of)
        if record.source == "entry_exit" and record.extra.get("event_type") in ("ENTRY", "EXIT"):
            border.append(
                BorderEvent(
                    record.record_id,
                    str(record.extra["event_type"]),
                    record.observed_on,
                    record.extra.get("port"),
                    record.citizenship,
                )
            )
    evidence = [_visa_on_admission(e, border, as_of) for e in evidence]
    return PersonStatus(as_of, _settle_applications(evidence), border)


def visa_admitted_on(issued: dt.date, border: Sequence[BorderEvent]) -> dt.date:
    """When a visa issued on ``issued`` admitted its holder: the first entry on or after the
    issue, or the issue itself when no entry is on record."""
    entries = [b.on for b in border if b.direction == "ENTRY" and b.on is not None]
    return min((on for on in entries if on >= issued), default=issued)


def visa_ends(admitted: dt.date) -> dt.date:
    return dt.date(admitted.year + VISA_YEARS, admitted.month, min(admitted.day, 28))


def _visa_on_admission(
    item: StatusEvidence, border: Sequence[BorderEvent], as_of: dt.date
) -> StatusEvidence:
    if not item.stated.startswith("VISA_ISSUED") or item.on is None:
        return item
    valid = visa_ends(visa_admitted_on(item.on, border)) > as_of
    term = StatusTerm.VALID_VISA if valid else StatusTerm.EXPIRED_VISA
    return StatusEvidence(item.record_id, item.source, term, item.on, item.stated, item.deadline)


def status_by_person(records: Iterable[StatusRecord], as_of: dt.date) -> dict[str, PersonStatus]:
    grouped: dict[str, list[StatusRecord]] = {}
    for record in records:
        grouped.setdefault(record.person_id, []).append(record)
    return {pid: person_status(rows, as_of) for pid, rows in grouped.items()}


def _evidence(record: StatusRecord, as_of: dt.date) -> list[StatusEvidence]:
    found: list[StatusEvidence] = []
    on = record.observed_on
    if (record.citizenship or "").strip().upper() in US_NATIONALITY:
        found.append(
            StatusEvidence(record.record_id, record.source, StatusTerm.CITIZEN, on,
                           f"nationality {record.citizenship}")
        )  # fmt: skip
    stated_term = record.extra.get("status")  # a mapped file's canonical status
    if stated_term:
        term = StatusTerm(stated_term) if stated_term in _TERMS else StatusTerm.UNCLEAR
        words = str(record.extra.get("status_stated") or stated_term)
        stated_on = _iso_date(record.extra.get("status_on")) or on
        found.append(StatusEvidence(record.record_id, record.source, term, stated_on, words))
    if record.source == "immigration_status":
        found.append(_benefit(record, as_of))
    elif record.source == "court":
        outcome = str(record.extra.get("outcome") or "")
        deadline = record.extra.get("departure_deadline")
        found.append(
            StatusEvidence(
                record.record_id,
                record.source,
                _OUTCOMES.get(outcome, StatusTerm.UNCLEAR),
                on,
                f"hearing {outcome}",
                dt.date.fromisoformat(deadline) if deadline else None,
            )
        )
    return found


def _iso_date(value: object) -> dt.date | None:
    """The date a record states (kept as ISO text), or None when it states none."""
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _benefit(record: StatusRecord, as_of: dt.date) -> StatusEvidence:
    event = str(record.extra.get("event_type") or "")
    benefit = str(record.extra.get("benefit") or "")
    on = record.observed_on
    term = StatusTerm.UNCLEAR
    if event == "GRANTED":
        term = _GRANTED.get(benefit, StatusTerm.UNCLEAR)
    elif event == "REGISTERED" and benefit == "TPS":
        term = StatusTerm.PROTECTED_STATUS
    elif event == "APPLICATION_FILED":
        term = StatusTerm.PENDING_APPLICATION
    elif event == "DENIED":
        term = StatusTerm.DENIED_APPLICATION
    elif event == "VISA_ISSUED":
        # Undated, it may be valid; dated, person_status judges it from the admission.
        term = StatusTerm.VALID_VISA
    return StatusEvidence(record.record_id, record.source, term, on, f"{event} {benefit}".strip())


def _settle_applications(evidence: list[StatusEvidence]) -> list[StatusEvidence]:
    """An application is pending until a later decision on the same benefit settles it."""
    decided: dict[str, dt.date] = {}
    for item in evidence:
        event, _, benefit = item.stated.partition(" ")
        benefit = _DECIDED_AS.get(benefit, benefit)
        if event in ("GRANTED", "DENIED") and item.on is not None:
            decided[benefit] = max(decided.get(benefit, dt.date.min), item.on)
    settled: list[StatusEvidence] = []
    for item in evidence:
        event, _, benefit = item.stated.partition(" ")
        benefit = _DECIDED_AS.get(benefit, benefit)
        if (
            item.term is StatusTerm.PENDING_APPLICATION
            and event == "APPLICATION_FILED"
            and item.on is not None
            and decided.get(benefit, dt.date.min) >= item.on
        ):
            continue  # decided since: the decision is the evidence
        settled.append(item)
    return settled
