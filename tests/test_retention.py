"""Retention: what is past its source's period on a day, purged in one transaction with all
that names it, audited with the counts, and the persons and open cases it touched flagged.

A small world of its own, built row by row, so that every count below is known: utility
records kept 3650 days, tax records kept forever.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caseline.cases import (
    Guard,
    Thresholds,
    apply_retention,
    list_retention_flags,
    preview_retention,
)
from caseline.cases import retention as retention_module
from caseline.cases.guards import evaluate, gather_facts
from caseline.config import Settings, load_settings
from caseline.db import Database
from caseline.db.models import (
    AuditEvent,
    Base,
    Case,
    CaseTransition,
    Dispute,
    IngestRun,
    LinkDecision,
    Person,
    PersonNameWord,
    PersonRecord,
    QuarantinedRow,
    RecordValueIssue,
    ResolutionRun,
    RetentionFlag,
    ReviewPair,
    SourceRecord,
)
from caseline.errors import AccessDenied, ConflictError, InputError
from caseline.oversight import Actor, Role
from tests.conftest import last_audit_seq

ADMIN = Actor("ada", Role.ADMIN)
AUDITOR = Actor("aud", Role.AUDITOR)
ANALYST = Actor("ann", Role.ANALYST)
PERIODS = {"utility": 3650}
AS_OF = dt.date(2025, 1, 1)  # utility cut-off: 2015-01-04 (3650 days, three leap days)
TODAY = dt.date(2026, 1, 1)
DECIDED_AT = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)  # the reviewers' link decisions
CONFIRMED_AT = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)  # PA's identity, on case A


@dataclass(frozen=True)
class World:
    database: Database
    case_a: int  # open, on PA, who loses U1 and keeps U2 and T1
    case_b: int  # open, on PB, who loses U4, their only record
    closed_b: int  # closed, on PB


def _record(run: IngestRun, key: str, **values: object) -> SourceRecord:
    return SourceRecord(
        record_id=key,
        source=run.source,
        source_key=key,
        ingest_run_id=run.id,
        line_number=1,
        given_name="ana",
        family_name=f"garcia {key.lower()}",
        **values,
    )


def _build(session: Session) -> tuple[int, int, int]:
    def run(source: str, started: dt.datetime) -> IngestRun:
        row = IngestRun(source=source, file_name=f"{source}.csv", file_sha256=f"{source}{started}",
                        started_at=started)  # fmt: skip
        session.add(row)
        session.flush()
        return row

    old_utility = run("utility", dt.datetime(2010, 1, 1, tzinfo=dt.UTC))
    utility = run("utility", dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    tax = run("tax", dt.datetime(2010, 1, 1, tzinfo=dt.UTC))
    day = dt.date
    session.add_all(
        [
            # Service ended in 2012: past its period on AS_OF.
            _record(utility, "U1", valid_from=day(2010, 1, 1), valid_to=day(2012, 6, 30),
                    observed_on=day(2012, 6, 30)),
            # Started in 2005, never closed: current, kept.
            _record(utility, "U2", valid_from=day(2005, 1, 1), observed_on=day(2005, 1, 1)),
            # Ended in 2020: within its period.
            _record(utility, "U3", valid_from=day(2018, 1, 1), valid_to=day(2020, 1, 1)),
            # No date of its own: its file's, 2010.
            _record(old_utility, "U4"),
            # Old, but under open dispute: held.
            _record(old_utility, "U5", observed_on=day(2009, 1, 1)),
            # Tax is kept forever.
            _record(tax, "T1", observed_on=day(2001, 12, 31)),
        ]
    )  # fmt: skip
    session.flush()
    resolution = ResolutionRun(engine="duckdb", model_path="m.json", threshold=0.8)
    session.add(resolution)
    session.flush()
    members = {"PA": ["U1", "U2", "T1"], "PB": ["U4"], "PC": ["U3", "U5"]}
    for person_id, records in members.items():
        session.add(
            Person(person_id=person_id, resolution_run_id=resolution.id, display_name="x",
                   record_count=len(records), assurance=0.99)
        )  # fmt: skip
    session.flush()
    session.add_all(
        PersonRecord(record_id=r, person_id=p) for p, records in members.items() for r in records
    )
    session.add_all(
        [
            LinkDecision(left_record_id="T1", right_record_id="U1", decision="same_person",
                         reason="same account", decided_by="ann", decided_at=DECIDED_AT),
            LinkDecision(left_record_id="T1", right_record_id="U2", decision="same_person",
                         reason="same account", decided_by="ann", decided_at=DECIDED_AT),
            RecordValueIssue(ingest_run_id=utility.id, record_id="U1", line_number=1,
                             field="postcode", reason="not a zip", value="ABC"),
            Dispute(person_id="PB", record_id="U4", kind="not_me", state="rejected",
                    grounds="not mine at all", filed_by="lee", effect={}),
            Dispute(person_id="PC", record_id="U5", kind="not_me", state="filed",
                    grounds="not mine at all", filed_by="lee", effect={}),
            QuarantinedRow(ingest_run_id=old_utility.id, line_number=9, reason="bad", raw="x"),
            QuarantinedRow(ingest_run_id=utility.id, line_number=9, reason="bad", raw="y"),
            ReviewPair(resolution_run_id=resolution.id, rank=1, left_record_id="U1",
                       right_record_id="U4", match_probability=0.7, why="near_threshold"),
            ReviewPair(resolution_run_id=resolution.id, rank=2, left_record_id="T1",
                       right_record_id="U2", match_probability=0.9, why="near_threshold"),
        ]
    )  # fmt: skip
    cases = [
        Case(person_id="PA", state="identity_review", opened_by="ann", origin={}),
        Case(person_id="PB", state="status_review", opened_by="ann", origin={}),
        Case(person_id="PB", state="closed", opened_by="ann", origin={}),
    ]
    session.add_all(cases)
    session.flush()
    session.add(
        CaseTransition(case_id=cases[0].id, action="confirm_identity", from_state="lead",
                       to_state="identity_review", actor="ann", role="analyst",
                       occurred_at=CONFIRMED_AT)
    )  # fmt: skip
    return cases[0].id, cases[1].id, cases[2].id


@pytest.fixture
def world(database: Database) -> World:
    with database.transaction() as session:
        case_a, case_b, closed_b = _build(session)
    return World(database, case_a, case_b, closed_b)


def _counts(database: Database) -> dict[str, int]:
    with database.transaction() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
            if table.name != "audit_events"
        }


def _records(database: Database) -> set[str]:
    with database.transaction() as session:
        return set(session.scalars(select(SourceRecord.record_id)))


def test_the_preview_counts_what_is_past_its_period_and_who_depends_on_it(world: World) -> None:
    before = _counts(world.database)
    seq = last_audit_seq(world.database)
    with world.database.transaction() as session:
        preview = preview_retention(session, AUDITOR, periods=PERIODS, as_of=AS_OF)
    (utility,) = preview.sources
    assert (utility.source, utility.days, utility.cutoff) == ("utility", 3650, dt.date(2015, 1, 4))
    assert (utility.records, utility.held) == (2, 1)  # U1 and U4; U5 held by its dispute
    assert [(p.person_id, p.records_lost, p.records_left) for p in preview.persons] == [
        ("PA", 1, 2),
        ("PB", 1, 0),
    ]
    assert preview.cases == (world.case_a, world.case_b)  # the closed case is not open
    assert (preview.link_decisions, preview.disputes, preview.value_issues) == (1, 1, 1)
    assert preview.quarantined_rows == 1
    assert _counts(world.database) == before  # a preview changes nothing
    with world.database.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.seq > seq)).one()
    assert event.action == "preview_retention" and event.actor == "aud"
    assert event.details["records"] == {"utility": 2} and event.details["persons"] == ["PA", "PB"]


def test_the_day_decides_what_is_past(world: World) -> None:
    with world.database.transaction() as session:
        early = preview_retention(session, ADMIN, periods=PERIODS, as_of=dt.date(2015, 1, 1))
        late = preview_retention(session, ADMIN, periods=PERIODS, as_of=dt.date(2031, 1, 2))
        none = preview_retention(session, ADMIN, periods={}, as_of=AS_OF)
    assert early.records == 0 and early.persons == ()
    # By 2031 the service that ended in 2020 is past too; the open one never is.
    assert late.records == 3 and late.sources[0].held == 1
    assert none.sources == () and none.records == 0 and none.quarantined_rows == 0


def test_apply_purges_exactly_those_keeps_the_rest_and_audits_the_counts(world: World) -> None:
    before = _counts(world.database)
    seq = last_audit_seq(world.database)
    with world.database.transaction() as session:
        run = apply_retention(session, ADMIN, periods=PERIODS, as_of=AS_OF, today=TODAY)
    assert run.purged.records == 2 and run.persons_removed == 1
    assert _records(world.database) == {"U2", "U3", "U5", "T1"}
    after = _counts(world.database)
    assert after["source_records"] == before["source_records"] - 2
    assert after["link_decisions"] == before["link_decisions"] - 1
    assert after["disputes"] == before["disputes"] - 1  # the rejected one; the open one stays
    assert after["record_value_issues"] == before["record_value_issues"] - 1
    assert after["quarantined_rows"] == before["quarantined_rows"] - 1
    assert after["review_pairs"] == before["review_pairs"] - 1  # the pair naming purged ones
    assert after["ingest_runs"] == before["ingest_runs"]  # a purged file stays ingested
    assert after["cases"] == before["cases"]
    with world.database.transaction() as session:
        persons = {p.person_id: (p.record_count, p.display_name) for p in session.scalars(
            select(Person))}  # fmt: skip
        flags = session.scalars(select(RetentionFlag).order_by(RetentionFlag.id)).all()
        event = session.scalars(select(AuditEvent).where(AuditEvent.seq > seq)).one()
    assert set(persons) == {"PA", "PC"} and persons["PA"][0] == 2  # PB had only U4
    assert persons["PA"][1] in {"ana garcia u2", "ana garcia t1"}
    assert [(f.person_id, f.case_id, f.records_lost, f.records_left) for f in flags] == [
        ("PA", world.case_a, 1, 2),
        ("PB", world.case_b, 1, 0),
    ]
    assert {f.run_id for f in flags} == {run.run_id} and flags[0].sources == {"utility": 1}
    with world.database.transaction() as session:
        words = set(session.execute(select(PersonNameWord.person_id, PersonNameWord.word)))
    kept_words = {w for p, w in words if p == "PA"}
    assert {"u2", "t1"} <= kept_words and not any("u1" in w for w in kept_words)  # not U1's
    assert not {p for p, _ in words} & {"PB", "PC"}  # PB is gone; PC lost nothing
    assert event.action == "apply_retention" and event.object_id == run.run_id
    assert event.details["records"] == {"utility": 2} and event.details["held"] == {"utility": 1}
    assert event.details["link_decisions"] == 1 and event.details["persons_removed"] == 1
    assert event.details["cases_flagged"] == [world.case_a, world.case_b]


def test_applying_again_purges_nothing(world: World) -> None:
    with world.database.transaction() as session:
        apply_retention(session, ADMIN, periods=PERIODS, as_of=AS_OF, today=TODAY)
    before = _counts(world.database)
    with world.database.transaction() as session:
        again = apply_retention(session, ADMIN, periods=PERIODS, as_of=AS_OF, today=TODAY)
    assert again.purged.records == 0 and again.purged.persons == ()
    assert _counts(world.database) == before


def test_a_failure_part_way_leaves_everything_as_it_was(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, records = _counts(world.database), _records(world.database)
    seq = last_audit_seq(world.database)

    def broken(*_args: object) -> int:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(retention_module, "_update_persons", broken)
    with pytest.raises(RuntimeError), world.database.transaction() as session:
        apply_retention(session, ADMIN, periods=PERIODS, as_of=AS_OF, today=TODAY)
    assert _counts(world.database) == before and _records(world.database) == records
    assert last_audit_seq(world.database) == seq


def test_apply_refuses_a_day_ahead_and_a_preview_that_no_longer_holds(world: World) -> None:
    before = _counts(world.database)
    ahead = dt.date(2026, 1, 2)
    with (
        pytest.raises(InputError, match="as_of: 2026-01-02 is after today"),
        world.database.transaction() as session,
    ):
        apply_retention(session, ADMIN, periods=PERIODS, as_of=ahead, today=TODAY)
    with (
        pytest.raises(ConflictError, match="2 records are past their period now, not the 5"),
        world.database.transaction() as session,
    ):
        apply_retention(
            session, ADMIN, periods=PERIODS, as_of=AS_OF, today=TODAY, expected_records=5
        )
    assert _counts(world.database) == before
    with world.database.transaction() as session:
        done = apply_retention(
            session, ADMIN, periods=PERIODS, as_of=AS_OF, today=TODAY, expected_records=2
        )
    assert done.purged.records == 2


def test_only_admins_apply_and_admins_and_auditors_read(world: World) -> None:
    with world.database.transaction() as session:
        with pytest.raises(AccessDenied, match="may not apply retention"):
            apply_retention(session, AUDITOR, periods=PERIODS, as_of=AS_OF, today=TODAY)
        with pytest.raises(AccessDenied, match="may not read retention"):
            preview_retention(session, ANALYST, periods=PERIODS, as_of=AS_OF)
        with pytest.raises(AccessDenied):
            list_retention_flags(session, ANALYST)


def test_flags_are_listed_by_run_and_person_and_the_listing_is_audited(world: World) -> None:
    with world.database.transaction() as session:
        run = apply_retention(session, ADMIN, periods=PERIODS, as_of=AS_OF, today=TODAY)
    seq = last_audit_seq(world.database)
    with world.database.transaction() as session:
        every = list_retention_flags(session, AUDITOR, run_id=run.run_id)
        pb = list_retention_flags(session, AUDITOR, person_id="PB")
        other = list_retention_flags(session, AUDITOR, run_id="no-such-run")
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)
        ).all()
    assert {(f.person_id, f.case_id) for f in every} == {
        ("PA", world.case_a),
        ("PB", world.case_b),
    }
    assert [(f.person_id, f.records_left) for f in pb] == [("PB", 0)] and other == []
    assert [e.action for e in events] == ["list_retention_flags"] * 3
    assert sorted(events[0].details["persons"]) == ["PA", "PB"]
    assert events[0].details["cases"] == [world.case_a, world.case_b]
    assert events[2].details == {"run_id": "no-such-run", "persons": [], "cases": []}


def test_a_purge_makes_an_open_case_confirm_the_identity_again(world: World) -> None:
    thresholds = Thresholds(identity=0.5, address=0.5)

    def identity_confirmed() -> tuple[bool, str]:
        with world.database.transaction() as session:
            case = session.get(Case, world.case_a)
            assert case is not None
            facts = gather_facts(session, case, thresholds, AS_OF)
            result = evaluate(Guard.IDENTITY_CONFIRMED, facts, ANALYST, {}, case)
        return result.passed, result.why

    assert identity_confirmed()[0]  # confirmed, unchanged since
    with world.database.transaction() as session:
        run = apply_retention(session, ADMIN, periods=PERIODS, as_of=AS_OF, today=TODAY)
    passed, why = identity_confirmed()
    assert not passed
    assert f"1 records purged under retention (run {run.run_id})" in why


def test_a_period_must_be_whole_days_and_names_its_source() -> None:
    with pytest.raises(ValidationError, match=r"retention_days\[tax\]: 0 is not a period"):
        load_settings(retention_days={"tax": 0, "utility": 30})
    settings: Settings = load_settings(retention_days={"utility": 30})
    assert settings.retention_days == {"utility": 30}


def _past_by_rule(database: Database, periods: dict[str, int], as_of: dt.date) -> dict[str, int]:
    """The records past their period, counted in Python from the rule in docs/retention.md."""
    counts = dict.fromkeys(periods, 0)
    with database.transaction() as session:
        rows = session.execute(
            select(SourceRecord.source, SourceRecord.observed_on, SourceRecord.valid_from,
                   SourceRecord.valid_to, IngestRun.started_at)
            .join(IngestRun, IngestRun.id == SourceRecord.ingest_run_id)
        ).all()  # fmt: skip
    for source, observed, start, end, ingested in rows:
        if source not in periods or (start is not None and end is None):
            continue
        dates = [d for d in (observed, start, end) if d is not None]
        latest = max(dates) if dates else ingested.date()
        if latest < as_of - dt.timedelta(days=periods[source]):
            counts[source] += 1
    return counts


def test_on_a_resolved_world_the_purge_matches_the_rule_and_leaves_it_consistent(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        sources = sorted(set(session.scalars(select(SourceRecord.source))))
    periods = dict.fromkeys(sources, 3650)
    as_of = dt.date(2026, 1, 1)
    expected = _past_by_rule(database, periods, as_of)
    before = _counts(database)
    assert 0 < sum(expected.values()) < before["source_records"]
    with database.transaction() as session:
        run = apply_retention(session, ADMIN, periods=periods, as_of=as_of, today=TODAY)
    assert {s.source: s.records + s.held for s in run.purged.sources} == expected
    assert _counts(database)["source_records"] == before["source_records"] - run.purged.records
    assert sum(_past_by_rule(database, periods, as_of).values()) == run.purged.held
    with database.transaction() as session:
        members = dict(
            session.execute(
                select(PersonRecord.person_id, func.count()).group_by(PersonRecord.person_id)
            ).all()
        )
        persons = {p.person_id: p.record_count for p in session.scalars(select(Person))}
        flagged = set(session.scalars(select(RetentionFlag.person_id)))
        searchable = set(session.scalars(select(PersonNameWord.person_id).distinct()))
    assert persons == members  # every person counted anew, none left empty
    assert searchable <= set(persons)  # search finds no removed person
    assert flagged == {p.person_id for p in run.purged.persons}
    assert {p.person_id for p in run.purged.persons if p.records_left == 0}.isdisjoint(persons)


def test_a_dispute_filed_after_the_plan_stops_the_purge_whole(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if U5's dispute were filed between reading what to purge and purging it: the open
    dispute is not deleted, so its record's delete fails and nothing is purged."""
    before = _counts(world.database)
    monkeypatch.setattr(retention_module, "_held_by_disputes", lambda _session: frozenset())
    with pytest.raises(IntegrityError), world.database.transaction() as session:
        apply_retention(session, ADMIN, periods=PERIODS, as_of=AS_OF, today=TODAY)
    assert _counts(world.database) == before
