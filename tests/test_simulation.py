"""The wrongful-action simulation on the shared resolved world: it writes nothing but its
audit event, judges each lead against the truth files, and runs the server's own guards."""

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from caseline.cases import RedressSettings, Simulation, Thresholds, simulate_cases
from caseline.cases.ground_truth import PROTECTED_STATUSES, read_ground_truth, read_true_persons
from caseline.cases.grounds import assess_grounds
from caseline.cases.guards import gather_facts
from caseline.cases.redress import STATUS_TERMS, claims_of, plan_redress
from caseline.cases.simulated_facts import person_facts
from caseline.cases.simulation import Outcome
from caseline.cli import app
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, Base, Case, Dispute, Person
from caseline.errors import InputError
from caseline.oversight import Actor, Role, create_user
from caseline.profiles import load_status_records, status_by_person
from caseline.profiles.disputed import DisputeKind
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
    database: Database,
    records: Path,
    persons: Path,
    leads: int | None = None,
    redress: RedressSettings | None = None,
) -> Simulation:
    with database.transaction() as session:
        return simulate_cases(
            session, truth_records=records, truth_persons=persons, as_of=AS_OF,
            thresholds=THRESHOLDS, actor=ENGINEER, leads=leads, redress=redress,
        )  # fmt: skip


ALL_IN_TIME = RedressSettings(rate=1.0, days_to_action=100_000)  # everyone, decided in time


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
    assert "guards on + redress" in result.output and "corrected before the action" in result.output
    redress = figures["redress"]
    assert redress["settings"]["rate"] == 0.6
    assert redress["guards_on"]["leads"] == figures["leads"]
    assert (
        redress["corrected_before_action"] + redress["actioned_anyway"]
        == (figures["guards_on"]["wrongful"])
    )
    none = runner.invoke(app, [*arguments, "--as-of", AS_OF.isoformat(), "--redress-rate", "0"],
                         env=engineer_workspace)  # fmt: skip
    assert none.exit_code == 0, none.output
    assert json.loads(none.stdout.strip().splitlines()[-1])["redress"]["disputes_filed"] == 0
    wrong = runner.invoke(app, [*arguments, "--as-of", AS_OF.isoformat(), "--redress-rate", "2"],
                          env=engineer_workspace)  # fmt: skip
    assert wrong.exit_code == 2 and "redress-rate" in wrong.output
    only_on = runner.invoke(app, [*arguments, "--as-of", AS_OF.isoformat(), "--guards", "on"],
                            env=engineer_workspace)  # fmt: skip
    assert only_on.exit_code == 0, only_on.output
    assert "guards_off" not in json.loads(only_on.stdout.strip().splitlines()[-1])
    only_off = runner.invoke(app, [*arguments, "--as-of", AS_OF.isoformat(), "--guards", "off"],
                             env=engineer_workspace)  # fmt: skip
    assert only_off.exit_code == 0, only_off.output
    assert "redress" not in json.loads(only_off.stdout.strip().splitlines()[-1])


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


def _everyone_protected(small_world: WorldSummary, tmp_path: Path) -> Path:
    """The persons file with every person a citizen with no known address: every lead acted
    on is then wrongful, against a protected person at a wrong address."""
    altered = tmp_path / "persons.csv"
    with small_world.file("persons").open(newline="") as source, altered.open("w") as target:
        writer = csv.DictWriter(target, fieldnames=["entity_id", "status", "current_address"])
        writer.writeheader()
        for row in csv.DictReader(source):
            writer.writerow({"entity_id": row["entity_id"], "status": "citizen_birth"})
    return altered


def test_redress_files_disputes_of_the_right_kind_decided_by_the_truth(
    resolved: tuple[Settings, Database], small_world: WorldSummary
) -> None:
    _, database = resolved
    records, persons = _truth(small_world)
    before = _row_counts(database)
    result = _simulate(database, records, persons, redress=ALL_IN_TIME)
    after = _row_counts(database)
    # Filed, reviewed and decided through the real functions, in a savepoint rolled back.
    assert {t: n - before[t] for t, n in after.items() if n != before[t]} == {"audit_events": 1}
    redress = result.redress
    assert redress is not None
    counts = redress.counts
    truth = read_ground_truth(records, persons)
    with database.transaction() as session:
        chosen = [w.chosen for w in result.worked if w.chosen]
        claims = claims_of(session, result.worked, person_facts(session, chosen, AS_OF), truth)
    wronged = {w.chosen for w in result.worked if w.chosen and w.wrongful}
    assert claims and set(claims) <= wronged
    assert counts["persons_filing"] == len(claims)  # a rate of 1: all who have a claim
    assert counts["disputes_filed"] == sum(len(c) for c in claims.values())
    assert counts["decided_before_action"] == counts["disputes_filed"]
    # The reviewer's decisions (read back from decide_dispute) are the truth's.
    for kind, found in redress.by_kind.items():
        made = [c for listed in claims.values() for c in listed if c.kind.value == kind]
        assert found == {"filed": len(made), "upheld": sum(c.true for c in made),
                         "rejected": sum(not c.true for c in made)}, kind  # fmt: skip
    assert counts["upheld"] + counts["rejected"] == counts["disputes_filed"]
    by_person = {w.chosen: w for w in result.worked if w.chosen in claims}
    for person_id, listed in claims.items():
        w = by_person[person_id]
        entity = w.chosen_entity or ""
        for claim in listed:
            if claim.kind is DisputeKind.NOT_ME:
                assert claim.true == (truth.entity_of.get(claim.record_id, entity) != entity)
            if claim.kind is DisputeKind.STATUS:
                true_status = truth.persons[entity].status
                assert true_status in PROTECTED_STATUSES
                assert claim.status == STATUS_TERMS[true_status].value and claim.true
    assert counts["wrongful_actions_without_redress"] == result.on.counts["wrongful"]
    assert (
        counts["corrected_before_action"] + counts["actioned_anyway"]
        == (counts["wrongful_actions_without_redress"])
    )
    assert redress.guards_on.counts["leads"] == result.on.counts["leads"]
    assert result.as_dict()["redress"]["disputes_filed"] == counts["disputes_filed"]


def test_redress_upheld_before_the_action_stops_every_action_against_the_protected(
    resolved: tuple[Settings, Database], small_world: WorldSummary, tmp_path: Path
) -> None:
    """Everyone is a citizen: each person acted on files a status dispute with their
    citizenship document; upheld, its status record stops the case at the status guard."""
    records, _ = _truth(small_world)
    result = _simulate(
        resolved[1], records, _everyone_protected(small_world, tmp_path), redress=ALL_IN_TIME
    )
    redress = result.redress
    assert redress is not None
    acted = result.on.counts["actions"]
    assert acted > 0 and redress.counts["wrongful_actions_without_redress"] == acted
    assert redress.guards_on.counts["actions"] == 0
    assert redress.counts["corrected_before_action"] == acted
    assert redress.counts["actioned_anyway"] == 0
    assert redress.by_kind["status"]["upheld"] == redress.by_kind["status"]["filed"] > 0
    assert redress.guards_on.stopped_by.get("status_clear", 0) > 0
    after = redress.guards_on.counts
    assert after["stopped"] + after["no_address"] >= acted  # none of them acts now
    # The disputes changed the persons after their identity was confirmed: each case that
    # went on to propose its action (not left with no address) had the identity confirmed
    # again, as the guard asks.
    lost_address = after["no_address"] - result.on.counts["no_address"]
    assert redress.counts["reconfirmed"] > 0
    assert redress.counts["reconfirmed"] + lost_address >= acted
    assert not any(w.on.reconfirmed for w in result.worked)  # not without redress


def test_redress_too_late_or_by_no_one_changes_nothing(
    resolved: tuple[Settings, Database], small_world: WorldSummary, tmp_path: Path
) -> None:
    records, _ = _truth(small_world)
    persons = _everyone_protected(small_world, tmp_path)
    late = _simulate(resolved[1], records, persons,
                     redress=RedressSettings(rate=1.0, days_to_action=0))  # fmt: skip
    nobody = _simulate(resolved[1], records, persons, redress=RedressSettings(rate=0.0))
    for result in (late, nobody):
        assert result.redress is not None
        assert result.redress.guards_on.counts == result.on.counts
        assert result.redress.counts["corrected_before_action"] == 0
    assert late.redress is not None and nobody.redress is not None
    assert late.redress.counts["filed_after_action"] == late.redress.counts["disputes_filed"] > 0
    assert late.redress.counts["anyway_filed_after_action"] == late.on.counts["actions"] > 0
    assert nobody.redress.counts["anyway_did_not_file"] == nobody.on.counts["actions"]
    assert nobody.redress.counts["disputes_filed"] == 0


def test_who_files_and_when_is_drawn_with_the_seed(
    resolved: tuple[Settings, Database], small_world: WorldSummary, tmp_path: Path
) -> None:
    _, database = resolved
    records, _ = _truth(small_world)
    persons = _everyone_protected(small_world, tmp_path)
    result = _simulate(database, records, persons)
    assert result.redress is None  # only when asked
    with database.transaction() as session:
        chosen = [w.chosen for w in result.worked if w.chosen]
        claims = claims_of(session, result.worked, person_facts(session, chosen, AS_OF),
                           read_ground_truth(records, persons))  # fmt: skip
    plans = plan_redress(claims, RedressSettings(rate=0.5, seed=1))
    assert plans == plan_redress(claims, RedressSettings(rate=0.5, seed=1))
    assert 0 < len(plans) < len(claims)
    other = plan_redress(claims, RedressSettings(rate=0.5, seed=2))
    assert [p.person_id for p in plans] != [p.person_id for p in other]
    assert all(p.decided_on == p.filed_on + 14 > 0 for p in plans)
    with pytest.raises(InputError, match="from 0 to 1") as raised:
        RedressSettings(rate=1.5)
    assert raised.value.where == "redress_rate"
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Dispute)) == 0
