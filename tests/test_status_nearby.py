"""Possible matches' status records: the query that asks only for the undated records filed
under the initials of the person's names finds what a reading of all of them found, and the
database answers it from the indexes of migration 0018."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import PersonRecord, SourceRecord
from caseline.profiles import load_status_records, status_by_person, status_nearby
from caseline.profiles.status_evidence import status_record_filter
from caseline.profiles.status_nearby import (
    NearbyStatus,
    possible_status_matches,
    undated_status_statement,
)
from caseline.profiles.status_nearby import (
    _Identity as Identity,
)
from tests.case_pages import AS_OF

PLANTED = 12  # stopping status records rewritten to name another person, without a date


def _as_before_0018(
    session: Session, person_ids: Sequence[str], as_of: dt.date
) -> dict[str, list[NearbyStatus]]:
    """possible_status_matches as it was before migration 0018, kept as the reference: it
    read every undated status-bearing record, whatever its names, with its person."""
    identities = status_nearby._identities(session, person_ids)
    births = sorted(
        {b for found in identities.values() for i in found for b in status_nearby._births(i)}
    )
    statement = (
        select(
            SourceRecord.record_id,
            PersonRecord.person_id,
            SourceRecord.given_name,
            SourceRecord.family_name,
            SourceRecord.date_of_birth,
        )
        .join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
        .where(status_record_filter())
    )
    chosen = [statement.where(SourceRecord.date_of_birth.is_(None))] + [
        statement.where(SourceRecord.date_of_birth.in_(births[start : start + 5000]))
        for start in range(0, len(births), 5000)
    ]
    candidates: dict[str, tuple[str, Identity]] = {}
    for query in chosen:
        for record_id, person_id, given, family, born in session.execute(query):
            if given and family:
                candidates[record_id] = (person_id, Identity(given, family, born))
    by_key: dict[dt.date | str, list[str]] = {}
    for record_id, (_, identity) in candidates.items():
        filed_under: set[dt.date | str] = (
            {identity.family[:1], identity.given[:1]} if identity.born is None else {identity.born}
        )
        for key in filed_under:
            by_key.setdefault(key, []).append(record_id)
    pairs: list[tuple[str, str]] = []
    for person_id, own in identities.items():
        seen: set[str] = set()
        for identity in own:
            keys: list[dt.date | str] = [*status_nearby._births(identity), identity.family[:1]]
            for key in keys:
                for record_id in by_key.get(key, ()):
                    other, theirs = candidates[record_id]
                    if (
                        other != person_id
                        and record_id not in seen
                        and status_nearby._close(identity, theirs)
                    ):
                        seen.add(record_id)
                        pairs.append((person_id, record_id))
    holders = sorted({candidates[record_id][0] for _, record_id in pairs})
    statuses = status_by_person(load_status_records(session, holders), as_of)
    stopping = {e.record_id: e for status in statuses.values() for e in status.stopping}
    their_births = {
        p: {i.born for i in found}
        for p, found in status_nearby._identities(session, holders).items()
    }
    found: dict[str, list[NearbyStatus]] = {}
    for person_id, record_id in pairs:
        evidence = stopping.get(record_id)
        other, theirs = candidates[record_id]
        if evidence is None:
            continue
        mine = {b for i in identities[person_id] for b in status_nearby._births(i)}
        if theirs.born is None and not status_nearby._may_be_born(their_births.get(other), mine):
            continue
        found.setdefault(person_id, []).append(
            NearbyStatus(other, evidence, f"{theirs.given} {theirs.family}", theirs.born)
        )
    return found


def _plant_undated_namesakes(session: Session) -> list[tuple[str, str]]:
    """Rewrite stopping status records of some persons to give another person's names and
    no date of birth (as given, swapped, or with a slip that changes the family initial),
    their holder's other records giving that person's date: (person named, record)."""
    statuses = status_by_person(load_status_records(session), AS_OF)
    stopping = sorted(
        (person_id, e.record_id) for person_id, s in statuses.items() for e in s.stopping
    )
    named = session.execute(
        select(
            PersonRecord.person_id,
            SourceRecord.given_name,
            SourceRecord.family_name,
            SourceRecord.date_of_birth,
        )
        .join(SourceRecord, SourceRecord.record_id == PersonRecord.record_id)
        .where(
            SourceRecord.given_name.is_not(None),
            SourceRecord.family_name.is_not(None),
            SourceRecord.date_of_birth.is_not(None),
        )
        .order_by(PersonRecord.record_id)
    ).all()
    holders = {holder for holder, _ in stopping}
    targets = list({p: (p, str(g), str(f), b) for p, g, f, b in named if p not in holders}.values())
    assert len(stopping) >= PLANTED and len(targets) >= PLANTED, "too small a world to plant in"
    planted: list[tuple[str, str]] = []
    used: set[str] = set()
    for n, (target, given, family, born) in enumerate(targets[:PLANTED]):
        holder, record_id = next((h, r) for h, r in stopping if h not in used)
        used.add(holder)
        names = [
            {"given_name": given, "family_name": family},
            {"given_name": family, "family_name": given},  # found by the given name's initial
            {"given_name": given, "family_name": "Q" + family[1:]},  # a slip in the initial
        ][n % 3]
        session.execute(
            update(SourceRecord)
            .where(SourceRecord.record_id == record_id)
            .values(**names, date_of_birth=None)
        )
        theirs = select(PersonRecord.record_id).where(PersonRecord.person_id == holder)
        session.execute(
            update(SourceRecord)
            .where(SourceRecord.record_id.in_(theirs), SourceRecord.record_id != record_id)
            .values(date_of_birth=born)
        )
        planted.append((target, record_id))
    return planted


def _ordered(matches: dict[str, list[NearbyStatus]]) -> dict[str, list[NearbyStatus]]:
    return {p: sorted(found, key=lambda n: n.evidence.record_id) for p, found in matches.items()}


def _found(matches: dict[str, list[NearbyStatus]]) -> set[tuple[str, str]]:
    return {(p, n.evidence.record_id) for p, found in matches.items() for n in found}


def test_possible_matches_are_those_found_before_migration_0018_for_every_person(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        planted = _plant_undated_namesakes(session)
        persons = sorted(session.scalars(select(PersonRecord.person_id).distinct()))
        now = [possible_status_matches(session, [p], AS_OF) for p in persons]
        before = [_as_before_0018(session, [p], AS_OF) for p in persons]
        together = possible_status_matches(session, persons, AS_OF)
        together_before = _as_before_0018(session, persons, AS_OF)
    # The same matches, each person's in the order of its records (the reference's order
    # was the database's).
    assert [_ordered(m) for m in now] == [_ordered(m) for m in before]
    assert _ordered(together) == _ordered(together_before)
    assert {p: found for m in now for p, found in _ordered(m).items()} == _ordered(together)
    # Not vacuous: the planted records are found, the undated among them by either name.
    found = _found(together)
    named_as_given = [pair for n, pair in enumerate(planted) if n % 3 == 0]
    swapped = [pair for n, pair in enumerate(planted) if n % 3 == 1]
    assert set(named_as_given + swapped) <= found
    undated = {
        (p, n.evidence.record_id) for p, m in together.items() for n in m if not n.date_of_birth
    }
    assert set(named_as_given + swapped) <= undated


# The indexes serve PostgreSQL's planner: SQLite's, without statistics, reads the records
# through the date of birth index.
@pytest.mark.parametrize("resolved", ["postgresql"], indirect=True)
def test_the_undated_status_records_are_read_through_the_initials_indexes(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    statement = undated_status_statement(["A", "M"])
    with database.transaction() as session:
        compiled = statement.compile(
            dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
        )
        # A small world's table is read whole unless told otherwise. An index of migration
        # 0018 can serve the query only if the query's condition implies the index's.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = session.connection().exec_driver_sql("EXPLAIN " + compiled.string, compiled.params)
        described = "\n".join(str(row[-1]) for row in plan)
        expected = sorted(session.execute(statement).all())
    assert "ix_source_records_undated_status_" in described, described
    assert "ix_source_records_date_of_birth" not in described, described
    assert expected, "the small world has no undated status record under A or M"
