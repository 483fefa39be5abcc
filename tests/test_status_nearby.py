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
from tests.case_pages import AS_OF

PLANTED = 12  # stopping status records rewritten to name another person, without a date


def _every_status_record(
    session: Session, births: Sequence[dt.date], _initials: Sequence[str]
) -> dict[str, tuple[str, status_nearby._Identity]]:
    """The query before migration 0018, kept as the reference: every undated status-bearing
    record, whatever its names, and those giving one of these dates of birth."""
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
    found: dict[str, tuple[str, status_nearby._Identity]] = {}
    for query in chosen:
        for record_id, person_id, given, family, born in session.execute(query):
            if given and family:
                found[record_id] = (person_id, status_nearby._Identity(given, family, born))
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
    targets = list({p: (p, g, f, b) for p, g, f, b in named if p not in holders}.values())
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


def _found(matches: dict[str, list[NearbyStatus]]) -> set[tuple[str, str]]:
    return {(p, n.evidence.record_id) for p, found in matches.items() for n in found}


def test_possible_matches_are_those_a_reading_of_every_undated_status_record_finds(
    mutable_resolved: tuple[Settings, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        planted = _plant_undated_namesakes(session)
        persons = sorted(session.scalars(select(PersonRecord.person_id).distinct()))

        def every_way() -> tuple[dict[str, list[NearbyStatus]], dict[str, list[NearbyStatus]]]:
            one_by_one = {p: possible_status_matches(session, [p], AS_OF) for p in persons}
            return one_by_one, possible_status_matches(session, persons, AS_OF)

        by_initials = every_way()
        monkeypatch.setattr(status_nearby, "_status_records", _every_status_record)
        by_reading_all = every_way()
    assert by_initials == by_reading_all
    one_by_one, together = by_initials
    assert {p: m[p] for p, m in one_by_one.items() if m} == together
    # Not vacuous: the planted records are found, the undated among them by either name.
    found = _found(together)
    named_as_given = [pair for n, pair in enumerate(planted) if n % 3 == 0]
    swapped = [pair for n, pair in enumerate(planted) if n % 3 == 1]
    assert set(named_as_given + swapped) <= found
    undated = {
        (p, n.evidence.record_id) for p, m in together.items() for n in m if not n.date_of_birth
    }
    assert set(named_as_given + swapped) <= undated


def test_the_undated_status_records_are_read_through_the_initials_indexes(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    if database.dialect != "postgresql":
        # SQLite's planner, without statistics, reads them through the date of birth index.
        pytest.skip("the indexes serve PostgreSQL's planner")
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
