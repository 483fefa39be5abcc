"""The wrongful-action simulation on the shared resolved world: it writes nothing but its
audit event, judges each lead against the truth files, and runs the server's own guards."""

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from caseline.cases import Simulation, Thresholds, simulate_cases
from caseline.cases.ground_truth import PROTECTED_STATUSES, read_true_persons
from caseline.cases.grounds import assess_grounds
from caseline.cases.guards import gather_facts
from caseline.cases.simulated_facts import person_facts
from caseline.cases.simulation import Outcome
from caseline.cli import app
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, Base, Case, Person
from caseline.errors import InputError
from caseline.oversight import Actor, Role, create_user
from caseline.profiles import load_status_records, status_by_person
from caseline.profiles.search import find_persons, find_top_persons
from caseline.synth import WorldSummary
from tests.cli_support import cli_login
from tests.conftest import ADMIN, PASSWORD

AS_OF = dt.date(2026, 1, 1)  # the small world's reference date
THRESHOLDS = Thresholds(identity=0.95, address=0.5)
ENGINEER = Actor("test-operator", Role.DATA_ENGINEER)
runner = CliRunner()


def _truth(world: WorldSummary) -> tuple[Path, Path]:
    return world.truth_file, world.file("persons")


def _simulate(
    database: Database, records: Path, persons: Path, leads: int | None = None
) -> Simulation:
    with database.transaction() as session:
        return simulate_cases(
            session, truth_records=records, truth_persons=persons, as_of=AS_OF,
            thresholds=THRESHOLDS, actor=ENGINEER, leads=leads,
        )  # fmt: skip


@pytest.fixture(scope="module")
def simulated(resolved: tuple[Settings, Database], small_world: WorldSummary) -> Simulation:
    return _simulate(resolved[1], *_truth(small_world))


def _row_counts(database: Database) -> dict[str, int]:
    with database.engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }


def test_the_simulation_writes_nothing_but_its_audit_event(
    resolved: tuple[Settings, Database], small_world: WorldSummary
) -> None:
    _, database = resolved
    before = _row_counts(database)
    result = _simulate(database, *_truth(small_world))
    after = _row_counts(database)
    assert {t: n - before[t] for t, n in after.items() if n != before[t]} == {"audit_events": 1}
    with database.transaction() as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event is not None
    assert (event.action, event.actor) == ("simulate_cases", ENGINEER.username)
    assert event.details["leads"] == len(result.worked) > 0
    assert event.details["guards_on"] == result.on.counts


def test_guards_off_acts_on_every_lead_the_guards_let_through(simulated: Simulation) -> None:
    assert simulated.off.counts["actions"] > 0
    assert simulated.on.counts["actions"] <= simulated.off.counts["actions"]
    for worked in simulated.worked:
        if worked.on.outcome is Outcome.ACTED:
            assert worked.off.outcome is Outcome.ACTED, worked.lead.lead_id
    assert simulated.off.counts["stopped"] == 0


def test_per_guard_stops_sum_to_the_stopped_leads(simulated: Simulation) -> None:
    for figures in (simulated.on, simulated.off):
        counts = figures.counts
        assert sum(figures.stopped_by.values()) == counts["stopped"]
        assert sum(figures.stopped_at.values()) == counts["stopped"]
        outcomes = ("actions", "stopped", "no_profile", "no_address")
        assert sum(counts[name] for name in outcomes) == counts["leads"]
        assert counts["rightly_stopped"] <= counts["stopped"]
        reached = counts["actionable_reached"]
        assert reached <= min(counts["actionable"], counts["actions"] - counts["wrong_person"])
    assert simulated.on.counts["stopped"] > 0


def test_with_guards_on_no_action_touches_a_person_whose_records_show_protection(
    resolved: tuple[Settings, Database], simulated: Simulation
) -> None:
    """What the guards can know: a record that shows the person may be here stops a case."""
    _, database = resolved
    acted = {w.chosen for w in simulated.worked if w.on.outcome is Outcome.ACTED}
    assert acted
    with database.transaction() as session:
        facts = person_facts(session, [p for p in acted if p], AS_OF)
    assert [p for p, f in facts.items() if f.status.stopping] == []


def test_with_guards_on_no_action_is_taken_against_a_protected_person(
    simulated: Simulation, small_world: WorldSummary
) -> None:
    persons = read_true_persons(small_world.file("persons"))
    protected = [
        w.lead.lead_id
        for w in simulated.worked
        if w.on.outcome is Outcome.ACTED
        and w.chosen_entity is not None
        and persons[w.chosen_entity].status in PROTECTED_STATUSES
    ]
    assert protected == []
    assert simulated.on.counts["protected"] == 0


def test_actions_are_judged_against_the_truth_files(
    resolved: tuple[Settings, Database], small_world: WorldSummary, tmp_path: Path
) -> None:
    """The same leads judged against altered truth: everyone protected and nowhere to be
    found makes every action against a protected person at a wrong address."""
    records, persons = _truth(small_world)
    altered = tmp_path / "persons.csv"
    with persons.open(newline="") as source, altered.open("w", newline="") as target:
        rows = list(csv.DictReader(source))
        writer = csv.DictWriter(target, fieldnames=["entity_id", "status", "current_address"])
        writer.writeheader()
        for row in rows:
            writer.writerow({"entity_id": row["entity_id"], "status": "citizen_birth"})
    result = _simulate(resolved[1], records, altered)
    off = result.off.counts
    assert off["actions"] > 0
    assert off["protected"] == off["wrong_address"] == off["wrongful"] == off["actions"]
    assert off["right_person_right_address"] == 0
    assert result.on.counts["actionable"] == 0
    assert result.on.counts["rightly_stopped"] == result.on.counts["stopped"]


def test_a_sample_of_leads_is_the_same_each_time(
    resolved: tuple[Settings, Database], small_world: WorldSummary, simulated: Simulation
) -> None:
    first = _simulate(resolved[1], *_truth(small_world), leads=5)
    again = _simulate(resolved[1], *_truth(small_world), leads=5)
    ids = [w.lead.lead_id for w in first.worked]
    assert len(ids) == 5 and ids == [w.lead.lead_id for w in again.worked]
    assert set(ids) <= {w.lead.lead_id for w in simulated.worked}


def test_facts_gathered_in_bulk_are_what_the_server_gathers_for_a_case(
    resolved: tuple[Settings, Database], simulated: Simulation
) -> None:
    _, database = resolved
    chosen = {w.chosen for w in simulated.worked if w.chosen}
    with database.transaction() as session:
        statuses = status_by_person(load_status_records(session), AS_OF)
        departed = {p for p, status in statuses.items() if status.departed_on is not None}
        assert departed  # persons whose addresses a recorded exit scales toward unknown
        persons = sorted(chosen | departed)
        bulk = person_facts(session, persons, AS_OF)
        assert sorted(bulk) == persons
        assert any(bulk[p].addresses.departed_on for p in departed)
        for person_id in persons:
            # A case that was never added to the session: gather_facts only reads.
            served = gather_facts(session, Case(person_id=person_id), THRESHOLDS, AS_OF)
            mine = bulk[person_id]
            assert mine.assurance == served.assurance, person_id
            assert mine.status == served.status, person_id
            assert mine.addresses == served.addresses, person_id
            assert set(mine.variants) == {a.address for a in served.addresses.addresses}
            assert sorted(mine.nearby, key=str) == sorted(served.nearby, key=str), person_id
            own = frozenset(mine.records)
            grounds = assess_grounds(mine.status, (), own, mine.births, mine.in_country_since)
            assert grounds == served.grounds, person_id


def test_the_top_profile_is_what_the_search_lists_first(
    resolved: tuple[Settings, Database], simulated: Simulation
) -> None:
    _, database = resolved
    names = sorted({w.lead.display_name for w in simulated.worked})
    with database.transaction() as session:
        top = find_top_persons(session, [*names, "JI-MIN", "-", "NOBODY ATALL"])
        for name in [*names, "JI-MIN"]:
            listed = find_persons(session, name)
            assert top[name] == (listed[0].person_id if listed else None), name
        hyphenated = session.execute(
            select(Person.person_id, Person.display_name).where(Person.display_name.contains("-"))
        ).all()
        assert hyphenated  # the world has names such as JI-MIN YAN: each is found by itself
        for person_id, name in hyphenated:
            assert person_id in {p.person_id for p in find_persons(session, name, 50)}, name
    assert top["-"] is None and top["NOBODY ATALL"] is None
    assert all(top[w.lead.display_name] == w.chosen for w in simulated.worked)
    assert any(w.chosen == w.lead.person_id for w in simulated.worked)


@pytest.mark.parametrize(
    ("text", "line", "complaint"),
    [
        ("entity_id,current_address\nE1,\n", 1, "missing columns: status"),
        ("entity_id,status,current_address\nE0,citizen_birth,\nE1,Citizen!,\n", 3,
         "is not a status word"),
        ("entity_id,status,current_address\nE0,citizen_birth,\n,citizen_birth,\n", 3,
         "empty entity_id"),
        ("entity_id,status,current_address\nE1,visa_expired,not an address\n", 2, "cannot be read"),
        ("entity_id,status,current_address\nE1,visa_expired,\nE1,visa_expired,\n", 3, "twice"),
    ],
)  # fmt: skip
def test_a_bad_persons_file_is_refused_naming_its_line(
    tmp_path: Path, text: str, line: int, complaint: str
) -> None:
    path = tmp_path / "persons.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=complaint) as raised:
        read_true_persons(path)
    assert raised.value.where == f"{path}:{line}"


@pytest.fixture
def engineer_workspace(
    mutable_resolved: tuple[Settings, Database],
) -> dict[str, str]:
    settings, database = mutable_resolved
    with database.transaction() as session:
        create_user(session, "eng", Role.DATA_ENGINEER, PASSWORD, actor=ADMIN)
    workspace = {
        "CASELINE_HOME": str(settings.home),
        "DATABASE_URL": settings.resolved_database_url,
    }
    return cli_login(runner, "eng", PASSWORD, env=workspace)


def test_the_command_prints_both_settings_and_json_last(
    engineer_workspace: dict[str, str], small_world: WorldSummary
) -> None:
    records, persons = _truth(small_world)
    arguments = ["simulate", "--truth-records", str(records), "--truth-persons", str(persons)]
    result = runner.invoke(app, [*arguments, "--as-of", AS_OF.isoformat()],
                           env=engineer_workspace)  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["leads"] > 0
    assert figures["guards_on"]["leads"] == figures["guards_off"]["leads"] == figures["leads"]
    assert set(figures["targets"]) == {
        "no_wrong_person", "no_protected", "wrong_address_at_most_half", "actionable_reach_80",
        "reach_kept_80",
    }  # fmt: skip
    assert "guards on" in result.output and "guards off" in result.output
    only_on = runner.invoke(app, [*arguments, "--as-of", AS_OF.isoformat(), "--guards", "on"],
                            env=engineer_workspace)  # fmt: skip
    assert only_on.exit_code == 0, only_on.output
    assert "guards_off" not in json.loads(only_on.stdout.strip().splitlines()[-1])


def test_the_command_exits_2_on_a_truth_file_missing_a_column(
    engineer_workspace: dict[str, str], small_world: WorldSummary, tmp_path: Path
) -> None:
    records = tmp_path / "truth.csv"
    records.write_text("source,source_key,group\ntax,F1,anglo\n")
    result = runner.invoke(
        app,
        ["simulate", "--truth-records", str(records), "--truth-persons",
         str(small_world.file("persons")), "--as-of", AS_OF.isoformat()],
        env=engineer_workspace,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"{records}:1" in result.output and "entity_id" in result.output
