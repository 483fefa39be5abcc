"""Turn clusters of record ids into persons with stable ids, and store them."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from caseline.db.models import Person, PersonRecord, SourceRecord


def person_id_for(record_ids: Iterable[str]) -> str:
    """A person's id follows its earliest record id, so an unchanged cluster keeps its id."""
    return "P" + hashlib.sha256(min(record_ids).encode()).hexdigest()[:12].upper()


def group_clusters(assignments: Iterable[tuple[str, str]]) -> list[list[str]]:
    """(record_id, cluster_id) pairs -> lists of record ids, one per cluster, sorted."""
    members: defaultdict[str, list[str]] = defaultdict(list)
    for record_id, cluster_id in assignments:
        members[cluster_id].append(record_id)
    return sorted(sorted(ids) for ids in members.values())


def store_persons(session: Session, clusters: list[list[str]], run_id: int) -> int:
    """Replace the persons with these clusters inside the caller's transaction."""
    names = _display_names(session)
    session.execute(delete(PersonRecord))
    session.execute(delete(Person))
    persons: list[dict[str, object]] = []
    memberships: list[dict[str, str]] = []
    for record_ids in clusters:
        person_id = person_id_for(record_ids)
        persons.append(
            {
                "person_id": person_id,
                "resolution_run_id": run_id,
                "record_count": len(record_ids),
                "display_name": _most_common(names.get(r) for r in record_ids),
            }
        )
        memberships.extend({"record_id": r, "person_id": person_id} for r in record_ids)
    if persons:
        session.execute(insert(Person), persons)
        session.execute(insert(PersonRecord), memberships)
    return len(persons)


def _display_names(session: Session) -> dict[str, str]:
    rows = session.execute(
        select(SourceRecord.record_id, SourceRecord.given_name, SourceRecord.family_name)
    )
    return {r.record_id: " ".join(filter(None, (r.given_name, r.family_name))) for r in rows}


def _most_common(values: Iterable[str | None]) -> str:
    counts = Counter(v for v in values if v)
    if not counts:
        return "(no name)"
    # Ties go to the alphabetically first name so the choice is reproducible.
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]
