"""Audit events of retention: what a purge would remove, read; a purge applied, with its
counts per source; the persons and cases it flagged, listed. Registered beside the other
event types (one frozen dataclass each, recorded through a permit in the transaction that
does the work); the trail itself is never purged."""

from __future__ import annotations

from dataclasses import dataclass, field

from caseline.oversight.access import Permission
from caseline.oversight.events import Event


@dataclass(frozen=True, kw_only=True)
class RetentionPreviewed(Event):
    action = "preview_retention"
    object_type = "source_record"
    permission = Permission.READ_RETENTION
    summary = "what a retention purge would remove on a day, per source, and who depends on it"

    as_of: str
    records: dict[str, int] = field(default_factory=dict)  # source -> past its period
    held: dict[str, int] = field(default_factory=dict)  # source -> past, held by a dispute
    persons: tuple[str, ...] = ()
    cases: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RetentionApplied(Event):
    action = "apply_retention"
    object_type = "retention_run"
    permission = Permission.APPLY_RETENTION
    object_field = "run_id"
    summary = "a retention purge: records removed per source, what went with them, flags"

    run_id: str
    as_of: str
    periods: dict[str, int] = field(default_factory=dict)  # source -> days kept
    records: dict[str, int] = field(default_factory=dict)  # source -> records purged
    held: dict[str, int] = field(default_factory=dict)  # source -> kept for a dispute
    link_decisions: int = 0
    disputes: int = 0
    value_issues: int = 0
    quarantined_rows: int = 0
    persons_flagged: int = 0
    persons_removed: int = 0
    cases_flagged: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RetentionFlagsListed(Event):
    action = "list_retention_flags"
    object_type = "person"
    permission = Permission.READ_RETENTION
    summary = "the persons and cases retention purges flagged, listed"

    run_id: str | None
    persons: tuple[str, ...] = ()
    cases: tuple[int, ...] = ()
