"""Clusters of record ids -> persons with stable ids, the merges and splits between runs.

A person id is what a case, a dossier and an audit event point at, so a re-run must not
renumber people: each new cluster takes the id of the earlier person it shares the most
records with (each earlier id goes to one cluster at most); a cluster that shares no
records, or whose best match went to a larger share, gets a new id. Where records of two
earlier persons now form one, or one earlier person's records now form several, the change
is recorded as a merge or split event so that whoever works on that person can see it.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from caseline.db.models import Person, PersonEvent, PersonRecord, SourceRecord
from caseline.resolve.assurance import AssuranceEvidence
from caseline.resolve.name_words import store_name_words


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # "merge" | "split"
    person_id: str
    related: tuple[str, ...]
    record_count: int


def person_id_for(record_ids: Iterable[str], salt: int = 0) -> str:
    """A new person's id, from its earliest record (and a salt if that id was ever used)."""
    seed = min(record_ids) + (f"#{salt}" if salt else "")
    return "P" + hashlib.sha256(seed.encode()).hexdigest()[:12].upper()


def assign_person_ids(
    clusters: list[list[str]], previous: Mapping[str, str]
) -> tuple[list[tuple[str, list[str]]], list[Change]]:
    """(person id, record ids) per cluster, and the merges and splits since ``previous``
    (record id -> person id of the last run)."""
    overlaps = [Counter(previous[r] for r in records if r in previous) for records in clusters]
    candidates = sorted(
        (-shared, old_id, index)
        for index, counts in enumerate(overlaps)
        for old_id, shared in counts.items()
    )
    ids: dict[int, str] = {}
    taken: set[str] = set()
    for _shared, old_id, index in candidates:
        if index not in ids and old_id not in taken:
            ids[index] = old_id
            taken.add(old_id)
    used = set(previous.values())
    for index, records in enumerate(clusters):
        if index not in ids:
            salt = 0
            while (new_id := person_id_for(records, salt)) in used:
                salt += 1
            ids[index] = new_id
            used.add(new_id)
    persons = [(ids[i], records) for i, records in enumerate(clusters)]
    return persons, _changes(persons, overlaps, previous)


def _changes(
    persons: list[tuple[str, list[str]]], overlaps: list[Counter[str]], previous: Mapping[str, str]
) -> list[Change]:
    changes = [
        Change("merge", person_id, tuple(sorted(counts)), len(records))
        for (person_id, records), counts in zip(persons, overlaps, strict=True)
        if len(counts) > 1
    ]
    became: defaultdict[str, set[str]] = defaultdict(set)
    for (person_id, _records), counts in zip(persons, overlaps, strict=True):
        for old_id in counts:
            became[old_id].add(person_id)
    sizes = Counter(previous.values())
    changes += [
        Change("split", old_id, tuple(sorted(new_ids)), sizes[old_id])
        for old_id, new_ids in sorted(became.items())
        if len(new_ids) > 1
    ]
    return changes


def current_memberships(session: Session) -> dict[str, str]:
    """record id -> person id, as the last run left them."""
    rows = session.execute(select(PersonRecord.record_id, PersonRecord.person_id))
    return {record_id: person_id for record_id, person_id in rows}


def store_persons(
    session: Session,
    clusters: list[list[str]],
    run_id: int,
    assurance: Mapping[str, AssuranceEvidence] | None = None,
) -> list[Change]:
    """Replace the persons with these clusters inside the caller's transaction, keeping ids.

    ``assurance`` gives each cluster's identity assurance, keyed by its first record id."""
    assurance = assurance or {}
    persons, changes = assign_person_ids(clusters, current_memberships(session))
    names = _display_names(session)
    session.execute(delete(PersonRecord))
    session.execute(delete(Person))
    if persons:
        session.execute(
            insert(Person),
            [
                {
                    "person_id": person_id,
                    "resolution_run_id": run_id,
                    "record_count": len(records),
                    "display_name": _most_common(names.get(r) for r in records),
                    **_assurance_columns(assurance.get(min(records))),
                }
                for person_id, records in persons
            ],
        )
        session.execute(
            insert(PersonRecord),
            [{"record_id": r, "person_id": pid} for pid, records in persons for r in records],
        )
    store_name_words(session)
    if changes:
        session.execute(
            insert(PersonEvent),
            [
                {
                    "resolution_run_id": run_id,
                    "kind": c.kind,
                    "person_id": c.person_id,
                    "related_person_ids": {"persons": list(c.related)},
                    "record_count": c.record_count,
                }
                for c in changes
            ],
        )
    return changes


def _assurance_columns(evidence: AssuranceEvidence | None) -> dict[str, object]:
    if evidence is None:
        return {"assurance": None, "assurance_evidence": None}
    return {"assurance": evidence.assurance, "assurance_evidence": evidence.as_json()}


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
