"""Audit events of disputes: filed, listed, read, taken up for review and decided.
Registered beside the other event types (one frozen dataclass each, recorded through a
permit in the transaction that does the work)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from caseline.oversight.access import Permission
from caseline.oversight.events import Event


@dataclass(frozen=True, kw_only=True)
class DisputeFiled(Event):
    action = "file_dispute"
    object_type = "dispute"
    permission = Permission.FILE_DISPUTES
    object_field = "dispute_id"
    summary = "a dispute filed about a person's record, with the open cases it flagged"

    dispute_id: int
    person_id: str
    record_id: str
    kind: str
    document: str | None
    cases_flagged: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class DisputesListed(Event):
    action = "list_disputes"
    object_type = "dispute"
    permission = Permission.READ_DISPUTES
    summary = "disputes listed, with the state asked for and the persons they name"

    state: str | None
    disputes: tuple[int, ...]
    persons: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class DisputeRead(Event):
    action = "read_dispute"
    object_type = "dispute"
    permission = Permission.READ_DISPUTES
    object_field = "dispute_id"
    summary = "a dispute read, with the person and record it is about"

    dispute_id: int
    person_id: str
    record_id: str


@dataclass(frozen=True, kw_only=True)
class DisputeReviewStarted(Event):
    action = "review_dispute"
    object_type = "dispute"
    permission = Permission.REVIEW_DISPUTES
    object_field = "dispute_id"
    summary = "a dispute taken up for review by someone other than who filed it"

    dispute_id: int
    person_id: str


@dataclass(frozen=True, kw_only=True)
class DisputeDecided(Event):
    action = "decide_dispute"
    object_type = "dispute"
    permission = Permission.REVIEW_DISPUTES
    object_field = "dispute_id"
    summary = "a dispute upheld or rejected, with the reason, the new facts and cases flagged"

    dispute_id: int
    person_id: str
    record_id: str
    decision: str
    reason: str
    effect: dict[str, Any] = field(default_factory=dict)
    cases_flagged: tuple[int, ...] = ()
