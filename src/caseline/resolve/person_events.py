"""How a person's records moved between resolution runs: the merges and splits that touched
a person, read for a reviewer (audited)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session

from caseline.db.models import PersonEvent
from caseline.oversight import Actor, PersonEventsRead, permit


@dataclass(frozen=True, slots=True)
class PersonChangeEvent:
    """A merge or split between two resolution runs that touched a person.

    merge: ``person_id`` now holds the records of ``related_person_ids``; split: the records of
    ``person_id`` now form the persons ``related_person_ids``.
    """

    id: int
    resolution_run_id: int
    kind: str
    person_id: str
    related_person_ids: tuple[str, ...]
    record_count: int
    occurred_at: dt.datetime


def list_person_events(
    session: Session,
    actor: Actor,
    person_id: str,
    purpose: str | None,
    *,
    case_id: str | None = None,
) -> list[PersonChangeEvent]:
    """The merges and splits that touched a person, oldest first (audited, with the case it
    was read for).

    A person that a later run merged away or split keeps its events, so the id need not name
    a current person.
    """
    allowed = permit(actor, PersonEventsRead, purpose)
    # JSON containment differs between SQLite and PostgreSQL: narrow by text, then check.
    mentioned = cast(PersonEvent.related_person_ids, String).contains(person_id, autoescape=True)
    rows = session.scalars(
        select(PersonEvent)
        .where(or_(PersonEvent.person_id == person_id, mentioned))
        .order_by(PersonEvent.occurred_at, PersonEvent.id)
    ).all()
    events = [
        PersonChangeEvent(
            id=row.id,
            resolution_run_id=row.resolution_run_id,
            kind=row.kind,
            person_id=row.person_id,
            related_person_ids=tuple(row.related_person_ids.get("persons", ())),
            record_count=row.record_count,
            occurred_at=row.occurred_at,
        )
        for row in rows
    ]
    events = [e for e in events if person_id in (e.person_id, *e.related_person_ids)]
    allowed.record(
        session,
        PersonEventsRead(person_id=person_id, events=tuple(e.id for e in events), case_id=case_id),
    )
    return events
