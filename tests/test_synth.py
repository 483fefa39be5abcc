"""The synthetic world: deterministic, garbled at the configured rates, and consistent truth."""

import csv
import datetime as dt
import math
import random
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path

import pytest

from caseline.synth import ErrorRates, HardCases, WorldSummary, generate_world
from caseline.synth.calendar import HISTORY_START
from caseline.synth.errors import Garbler, swap_day_month
from caseline.synth.hard_cases import HardCasePlanter
from caseline.synth.model import LegalName, Person, StatusPeriod
from caseline.synth.records import source_profiles
from caseline.synth.render import write_date_of_birth
from caseline.synth.status import file_asylum_after_order
from caseline.synth.tables import SOURCE_COLUMNS, SOURCE_KEYS

REFERENCE = dt.date(2026, 1, 1)
# Planted hard cases at rates a few thousand persons show many times over.
MANY_HARD_CASES = HardCases(
    namesake_citizen=0.5, namesake_date_of_birth=0.8, asylum_after_order=0.3
)
# The date of birth each source writes, and its format.
WRITTEN_DATES_OF_BIRTH = {
    "motor_vehicle": ("dob", "%Y-%m-%d"), "tax": ("date_of_birth", "%m/%d/%Y"),
    "entry_exit": ("date_of_birth", "%d %b %Y"), "court": ("date_of_birth", "%Y-%m-%d"),
    "immigration_status": ("date_of_birth", "%m/%d/%Y"),
}  # fmt: skip


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _records(world: WorldSummary, source: str) -> list[tuple[dict[str, str], dict[str, str]]]:
    """A source's rows, each with its truth row."""
    truth = {r["source_key"]: r for r in _read(world.truth_file) if r["source"] == source}
    return [(row, truth[row[SOURCE_KEYS[source]]]) for row in _read(world.source_files[source])]


def _events(world: WorldSummary) -> set[tuple[str, str, str, str]]:
    """(person, day, event type, benefit or outcome) of every status and court record."""
    status = {
        (t["entity_id"], r["event_date"], r["event_type"], r["benefit"])
        for r, t in _records(world, "immigration_status")
    }
    court = {
        (t["entity_id"], r["hearing_date"], "HEARING", r["outcome"])
        for r, t in _records(world, "court")
    }
    return status | court


def _histories(world: WorldSummary) -> dict[str, list[dict[str, str]]]:
    history = defaultdict(list)
    for r in _read(world.file("statuses")):
        history[r["entity_id"]].append(r)
    return history


def _ordered_person(born: dt.date = dt.date(1985, 3, 7)) -> Person:
    person = Person(
        index=0, entity_id="E00000000", household_id="H0", group="hispanic", sex="M",
        role="single", date_of_birth=born, names=[LegalName("José", None, "García", "López", None)],
        renter=True, us_born=False, country_of_birth="Mexico", citizenship="Mexico",
        entered_on=dt.date(2012, 5, 1),
    )  # fmt: skip
    person.statuses = [
        StatusPeriod("entered_without_status", dt.date(2012, 5, 1), dt.date(2019, 2, 1)),
        StatusPeriod("in_proceedings", dt.date(2019, 2, 1), dt.date(2020, 6, 15)),
        StatusPeriod("final_removal_order", dt.date(2020, 6, 15), None),
    ]
    return person


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    return generate_world(3000, seed=17, out_dir=tmp_path_factory.mktemp("world"), workers=1)


@pytest.fixture(scope="module")
def hard_world(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    out_dir = tmp_path_factory.mktemp("hard")
    return generate_world(3000, seed=17, out_dir=out_dir, workers=1, hard_cases=MANY_HARD_CASES)


def test_the_same_seed_gives_identical_files_whatever_the_workers(tmp_path: Path) -> None:
    first, second = (
        generate_world(
            600, seed=3, out_dir=tmp_path / out, workers=workers, chunk_persons=200,
            hard_cases=MANY_HARD_CASES,
        )
        for out, workers in (("a", 1), ("b", 2))
    )  # fmt: skip
    for name in [*SOURCE_COLUMNS, "truth", "persons", "residences", "statuses"]:
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (
            tmp_path / "b" / f"{name}.csv"
        ).read_bytes(), name
    assert first.records_by_source == second.records_by_source
    assert first.hard_cases == second.hard_cases
    assert min(first.hard_cases.applied.values()) > 0  # the planted cases are in the comparison


def test_a_different_seed_gives_a_different_world(tmp_path: Path) -> None:
    generate_world(100, seed=3, out_dir=tmp_path / "a", workers=1)
    generate_world(100, seed=4, out_dir=tmp_path / "b", workers=1)
    assert (tmp_path / "a" / "truth.csv").read_bytes() != (
        tmp_path / "b" / "truth.csv"
    ).read_bytes()


def test_every_error_kind_occurs_at_its_configured_rate(world: WorldSummary) -> None:
    log = world.errors
    assert set(log.eligible) == set(ErrorRates.__dataclass_fields__)
    for kind, expected in log.expected.items():
        applied = log.applied.get(kind, 0)
        spread = math.sqrt(expected)  # binomial sd is at most sqrt(n p)
        assert applied > 0, kind
        assert abs(applied - expected) <= 4 * spread + 3, (
            f"{kind}: {applied} garbled, {expected:.0f} expected"
        )


def test_a_knob_changes_the_rate_it_names(tmp_path: Path) -> None:
    base = generate_world(400, seed=5, out_dir=tmp_path / "a", workers=1).errors
    more = generate_world(
        400, seed=5, out_dir=tmp_path / "b", workers=1, rates=ErrorRates(date_of_birth_swap=0.3)
    ).errors
    base_rate = base.applied["date_of_birth_swap"] / base.eligible["date_of_birth_swap"]
    more_rate = more.applied["date_of_birth_swap"] / more.eligible["date_of_birth_swap"]
    assert base_rate < 0.05
    assert 0.25 < more_rate < 0.35


def test_truth_rows_name_the_errors_of_their_records(world: WorldSummary) -> None:
    truth = {(r["source"], r["source_key"]): r for r in _read(world.truth_file)}
    born = {
        p["entity_id"]: dt.date.fromisoformat(p["date_of_birth"])
        for p in _read(world.file("persons"))
    }
    checked = 0
    for row in _read(world.source_files["motor_vehicle"]):
        record_truth = truth[("motor_vehicle", row["transaction"])]
        true_dob = born[record_truth["entity_id"]]
        kinds = record_truth["errors"].split(";")
        if "date_of_birth_swap" in kinds:
            checked += 1
            assert dt.date.fromisoformat(row["dob"]) == true_dob.replace(
                month=true_dob.day, day=true_dob.month
            )
        elif not set(kinds) & {
            "missing_date_of_birth",
            "date_of_birth_typo",
            "namesake_date_of_birth",
        }:
            assert dt.date.fromisoformat(row["dob"]) == true_dob
    assert checked > 0


def test_every_record_has_exactly_one_true_person(world: WorldSummary) -> None:
    truth = _read(world.truth_file)
    keys = Counter((r["source"], r["source_key"]) for r in truth)
    assert max(keys.values()) == 1
    persons = {p["entity_id"] for p in _read(world.file("persons"))}
    assert len(persons) == world.persons
    assert {r["entity_id"] for r in truth} <= persons
    for source, path in world.source_files.items():
        rows = _read(path)
        assert len(rows) == world.records_by_source[source] > 0, source
        assert {(source, row[SOURCE_KEYS[source]]) for row in rows} == {
            k for k in keys if k[0] == source
        }


def test_residence_periods_do_not_overlap(world: WorldSummary) -> None:
    periods = defaultdict(list)
    for r in _read(world.file("residences")):
        moved_out = dt.date.fromisoformat(r["moved_out"]) if r["moved_out"] else dt.date.max
        periods[r["entity_id"]].append((dt.date.fromisoformat(r["moved_in"]), moved_out))
    assert len(periods) > world.persons * 0.95
    for entity, spans in periods.items():
        spans.sort()
        for (start, end), (next_start, _) in pairwise(spans):
            assert start < end <= next_start, entity


def test_status_histories_are_ordered_and_end_in_the_reported_status(world: WorldSummary) -> None:
    history = defaultdict(list)
    for r in _read(world.file("statuses")):
        history[r["entity_id"]].append(r)
    for person in _read(world.file("persons")):
        periods = history[person["entity_id"]]
        assert periods, person["entity_id"]
        for current, following in pairwise(periods):
            assert current["since"] <= following["since"]
            assert current["until"] == following["since"]
        assert periods[-1]["until"] == ""
        assert periods[-1]["status"] == person["status"]


def test_the_world_holds_the_hard_cases(world: WorldSummary) -> None:
    persons = _read(world.file("persons"))
    by_id = {p["entity_id"]: p for p in persons}
    groups = Counter(p["group"] for p in persons)
    assert len(groups) == 8 and min(groups.values()) > 50
    twins = [p for p in persons if p["twin_of"]]
    assert twins and all(by_id[p["twin_of"]]["date_of_birth"] == p["date_of_birth"] for p in twins)
    juniors = [p for p in persons if p["suffix"] == "JR"]
    assert juniors
    vietnamese = [p for p in persons if p["group"] == "vietnamese"]
    assert sum(p["family_name"] == "Nguyễn" for p in vietnamese) / len(vietnamese) > 0.25
    hispanic = [p for p in persons if p["group"] == "hispanic"]
    assert sum(bool(p["second_family_name"]) for p in hispanic) / len(hispanic) > 0.8
    assert any(p["previous_family_name"] for p in persons)  # married in the window
    fathers = {
        (p["household_id"], p["given_name"], p["family_name"])
        for p in persons
        if p["suffix"] == "SR"
    }
    assert any((p["household_id"], p["given_name"], p["family_name"]) in fathers for p in juniors)
    visas = {
        t["entity_id"]
        for r, t in _records(world, "immigration_status")
        if r["event_type"] == "VISA_ISSUED"
    }
    assert any(p["status"] == "citizen_naturalised" and p["entity_id"] in visas for p in persons)
    last_month = REFERENCE - dt.timedelta(days=31)
    homes = Counter(r["entity_id"] for r in _read(world.file("residences")))
    moved = {
        r["entity_id"]: r["address"] for r in _read(world.file("residences"))
        if not r["moved_out"] and r["moved_in"] > last_month.isoformat()
        and homes[r["entity_id"]] > 1
    }  # fmt: skip
    at_new_home = {
        t["entity_id"] for r, t in _records(world, "utility")
        if moved.get(t["entity_id"], "").startswith(r["service_address"] + ", ")
    }  # fmt: skip
    assert at_new_home and len(at_new_home) < len(moved)  # some recorded there, some not yet
    statuses = Counter(p["status"] for p in persons)
    for status in (
        "citizen_birth",
        "citizen_naturalised",
        "permanent_resident",
        "pending_asylum",
        "final_removal_order",
        "voluntary_departure_departed",
        "voluntary_departure_overdue",
    ):
        assert statuses[status] > 0, status


def test_a_verified_voluntary_departure_has_its_exit_record(world: WorldSummary) -> None:
    departed = {
        p["entity_id"]: p["departed_on"]
        for p in _read(world.file("persons"))
        if p["status"] == "voluntary_departure_departed"
    }
    truth = {
        r["source_key"]: r["entity_id"]
        for r in _read(world.truth_file)
        if r["source"] == "entry_exit"
    }
    exits = {
        (truth[r["event_id"]], r["event_date"])
        for r in _read(world.source_files["entry_exit"])
        if r["event_type"] == "EXIT"
    }
    assert departed
    assert all((entity, day) in exits for entity, day in departed.items())


def test_parquet_holds_the_same_rows_as_csv(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    as_csv = generate_world(150, seed=9, out_dir=tmp_path / "csv", workers=1)
    as_parquet = generate_world(
        150, seed=9, out_dir=tmp_path / "pq", workers=1, file_format="parquet"
    )
    assert as_csv.records_by_source == as_parquet.records_by_source
    table = pq.read_table(as_parquet.truth_file)
    assert table.num_rows == len(_read(as_csv.truth_file))


def test_the_planted_hard_cases_occur_at_their_rates(hard_world: WorldSummary) -> None:
    log = hard_world.hard_cases
    assert set(log.eligible) == set(HardCases.__dataclass_fields__)
    for kind, expected in log.expected.items():
        applied = log.applied[kind]
        assert applied > 0, kind
        assert abs(applied - expected) <= 4 * math.sqrt(expected) + 3, kind


def test_no_hard_case_is_planted_when_every_rate_is_zero(tmp_path: Path) -> None:
    world = generate_world(400, seed=5, out_dir=tmp_path, workers=1, hard_cases=HardCases.none())
    assert sum(world.hard_cases.applied.values()) == 0
    assert world.hard_cases.eligible["asylum_after_order"] > 0
    assert not any("namesake" in r["errors"] for r in _read(world.truth_file))


def test_a_citizen_shares_the_name_and_birth_year_of_a_person_ordered_removed(
    hard_world: WorldSummary,
) -> None:
    persons = _read(hard_world.file("persons"))

    def key(p: dict[str, str]) -> tuple[str, ...]:
        return p["group"], p["sex"], p["given_name"], p["family_name"], p["date_of_birth"][:4]

    ordered = {key(p): p for p in persons if p["status"] == "final_removal_order"}
    namesakes = [
        (p, ordered[key(p)]) for p in persons
        if p["status"] == "citizen_birth" and key(p) in ordered
        and p["household_id"] != ordered[key(p)]["household_id"]
    ]  # fmt: skip
    assert len(namesakes) >= hard_world.hard_cases.applied["namesake_citizen"]
    assert all(p["us_born"] == "true" and p["citizenship"] == "United States" for p, _ in namesakes)
    assert any(p["date_of_birth"] != o["date_of_birth"] for p, o in namesakes)


def test_a_misdated_record_carries_the_date_of_birth_of_the_namesake(
    hard_world: WorldSummary,
) -> None:
    persons = {p["entity_id"]: p for p in _read(hard_world.file("persons"))}
    ordered = {
        (p["given_name"], p["family_name"], p["date_of_birth"]): p for p in persons.values()
        if p["status"] == "final_removal_order"
    }  # fmt: skip
    misdated = []
    for source, (column, form) in WRITTEN_DATES_OF_BIRTH.items():
        for row, truth in _records(hard_world, source):
            if "namesake_date_of_birth" in truth["errors"].split(";"):
                written = dt.datetime.strptime(row[column].title(), form).date()
                misdated.append((persons[truth["entity_id"]], written))
    assert len(misdated) == len({p["entity_id"] for p, _ in misdated}) > 0  # one record each
    for person, written in misdated:
        own = dt.date.fromisoformat(person["date_of_birth"])
        other = ordered[(person["given_name"], person["family_name"], written.isoformat())]
        assert other["entity_id"] != person["entity_id"]
        assert abs((written - own).days) == 1 or written == swap_day_month(own)


def test_an_asylum_claim_after_the_order_is_pending_in_every_truth_file(
    hard_world: WorldSummary,
) -> None:
    persons = {p["entity_id"]: p for p in _read(hard_world.file("persons"))}
    events = _events(hard_world)
    reopened = 0
    for entity, periods in _histories(hard_world).items():
        names = [p["status"] for p in periods]
        if names[-2:] != ["final_removal_order", "pending_asylum"]:
            continue
        reopened += 1
        order, claim = periods[-2], periods[-1]
        assert persons[entity]["status"] == "pending_asylum"
        assert order["until"] == claim["since"] > order["since"] and claim["until"] == ""
        assert (entity, order["since"], "HEARING", "REMOVAL_ORDERED") in events
        assert (entity, claim["since"], "APPLICATION_FILED", "ASYLUM") in events
        # No decision on an earlier claim is dated after the new one: the records show it
        # pending, as the truth does.
        decided = [e for e in events if e[0] == entity and e[2:] == ("DENIED", "ASYLUM")]
        assert all(day < order["since"] for _, day, _, _ in decided)
    assert reopened == hard_world.hard_cases.applied["asylum_after_order"]


@pytest.mark.parametrize("fixture", ["world", "hard_world"])
def test_status_periods_begin_with_the_events_the_sources_record(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    world: WorldSummary = request.getfixturevalue(fixture)
    events = _events(world)
    begins_with = {
        "final_removal_order": ("HEARING", "REMOVAL_ORDERED"),
        "pending_asylum": ("APPLICATION_FILED", "ASYLUM"),
        "citizen_naturalised": ("GRANTED", "NATURALISATION"),
        "permanent_resident": ("GRANTED", "PERMANENT_RESIDENCE"),
    }
    checked = Counter()
    for entity, periods in _histories(world).items():
        for period in periods:
            event = begins_with.get(period["status"])
            if event is not None and period["since"] >= HISTORY_START.isoformat():
                assert (entity, period["since"], *event) in events, (entity, period)
                checked[period["status"]] += 1
    assert set(checked) == set(begins_with)


def test_the_current_address_is_the_one_open_residence(world: WorldSummary) -> None:
    open_homes = defaultdict(list)
    for r in _read(world.file("residences")):
        if not r["moved_out"]:
            open_homes[r["entity_id"]].append(r["address"])
    for person in _read(world.file("persons")):
        expected = [person["current_address"]] if person["current_address"] else []
        assert open_homes[person["entity_id"]] == expected, person["entity_id"]
        if person["departed_on"]:
            assert not expected, person["entity_id"]


def test_an_asylum_claim_after_an_order_closes_the_order() -> None:
    person = _ordered_person()
    file_asylum_after_order(person, dt.date(2023, 4, 2))
    assert [p.status for p in person.statuses][-2:] == ["final_removal_order", "pending_asylum"]
    assert person.statuses[-2].until == person.statuses[-1].since == dt.date(2023, 4, 2)
    assert person.status_on(REFERENCE) == "pending_asylum"
    assert person.status_on(dt.date(2021, 1, 1)) == "final_removal_order"
    assert person.events[-1].detail == {"event_type": "APPLICATION_FILED", "benefit": "ASYLUM"}


@pytest.mark.parametrize("slipped", [True, False])
def test_a_namesake_is_born_the_same_year_and_one_slip_away_if_misdated(slipped: bool) -> None:
    ordered = _ordered_person()
    rates = HardCases(
        namesake_citizen=1.0, namesake_date_of_birth=float(slipped), asylum_after_order=0.0
    )
    planter = HardCasePlanter(random.Random(1), REFERENCE, rates)
    planter.consider([ordered])
    queued = planter.next_namesake()
    assert queued is not None and queued[0] is ordered
    born = queued[1]
    assert born.year == ordered.date_of_birth.year and born != ordered.date_of_birth
    namesake = _ordered_person(born)  # stands in for the citizen the builder would draw
    namesake.entity_id = "E00000001"
    planter.placed(namesake)
    assert planter.next_namesake() is None
    assert planter.misdated == ({"E00000001": ordered.date_of_birth} if slipped else {})
    if slipped:
        assert abs((born - ordered.date_of_birth).days) == 1 or born == swap_day_month(
            ordered.date_of_birth
        )


def test_a_misdated_person_has_one_record_with_the_other_date() -> None:
    person = _ordered_person()
    other = dt.date(1985, 7, 3)
    garbler = Garbler(random.Random(2), {person.entity_id: other})
    exact = ErrorRates(missing_date_of_birth=0, date_of_birth_swap=0, date_of_birth_typo=0)
    profile = source_profiles(exact)["tax"]
    assert write_date_of_birth(garbler, person, profile) == other
    assert garbler.take_applied() == "namesake_date_of_birth"
    assert write_date_of_birth(garbler, person, profile) == person.date_of_birth
