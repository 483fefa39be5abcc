"""Profiles built once per state of the records, kept in the process.

A profile (its attributes, records, status and scored addresses) changes only when what it
is built from changes: records ingested or purged, persons resolved or placed, disputes
filed, taken up or decided. :func:`records_version` reads a cheap fingerprint of all of that
in one query (the newest ids and times, a few counts of small tables); a built profile is
kept under its database, person, day and that fingerprint, so that a person read again with
nothing changed (an analyst's reads while they work a case) is not built again. The
fingerprint is read before the profile is built: a profile is never older than the
fingerprint it is kept under. Only the most recently read profiles are kept. What is kept
is unaudited: each read is still permitted and audited by :func:`read_profile`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from caseline.db.models import (
    AuditEvent,
    Dispute,
    IngestRun,
    LinkDecision,
    PersonEvent,
    ResolutionRun,
    RetentionFlag,
)
from caseline.oversight import RetentionApplied

if TYPE_CHECKING:
    from caseline.profiles.profile import Profile

KEPT = 512  # profiles kept at once (a few kB to a few hundred kB each)


def records_version_columns() -> list[ColumnElement[Any]]:
    """The scalar subqueries :func:`records_version` reads, for a caller whose fingerprint
    covers more (the case layer's adds cases and their steps) to read in the same query."""
    parts: list[ColumnElement[Any]] = [
        func.max(IngestRun.id),
        func.max(IngestRun.started_at),
        func.max(ResolutionRun.id),
        func.max(ResolutionRun.started_at),
        func.max(ResolutionRun.finished_at),
        func.max(PersonEvent.id),
        func.max(LinkDecision.id),
        func.count(LinkDecision.id),
        func.max(Dispute.id),
        func.count(Dispute.id),
        func.max(Dispute.review_started_at),
        func.max(Dispute.decided_at),
        func.max(RetentionFlag.id),
    ]
    purged = (
        select(func.max(AuditEvent.seq))
        .where(AuditEvent.action == RetentionApplied.action)
        .scalar_subquery()
    )
    return [*(select(part).scalar_subquery() for part in parts), purged]


def records_version(session: Session) -> tuple[object, ...]:
    """A fingerprint of what profiles are built from, which changes with any change to it:
    ingest runs, resolution runs, person events, link decisions, disputes, retention purges.
    One query over primary keys and small tables."""
    return tuple(session.execute(select(*records_version_columns())).one())


class KeptProfiles:
    """The most recently read profiles, by database, person, day and records version."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._profiles: OrderedDict[Hashable, Profile] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        session: Session,
        person_id: str,
        as_of: dt.date,
        build: Callable[[Session, str, dt.date], Profile],
    ) -> Profile:
        """The person's profile on ``as_of`` as the records stand, built by ``build`` only
        if none is kept for this state of them (what it raises is raised, nothing kept)."""
        database = session.get_bind().engine.url.render_as_string(hide_password=True)
        key = (database, person_id, as_of, records_version(session))
        with self._lock:
            kept = self._profiles.get(key)
            if kept is not None:
                self._profiles.move_to_end(key)
                return kept
        built = build(session, person_id, as_of)
        with self._lock:
            self._profiles[key] = built
            self._profiles.move_to_end(key)
            while len(self._profiles) > self._kept:
                self._profiles.popitem(last=False)
        return built

    def clear(self) -> None:
        with self._lock:
            self._profiles.clear()


kept_profiles = KeptProfiles()
