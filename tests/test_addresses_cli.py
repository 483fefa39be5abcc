"""Address confidence and the FtM export through the command line, on a generated world."""

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from followthemoney import model as ftm
from followthemoney.proxy import EntityProxy
from sqlalchemy import func, select
from typer.testing import CliRunner

from caseline.cli import app
from caseline.config import load_settings
from caseline.db import Database
from caseline.db.models import AuditEvent, Person
from caseline.oversight import Actor, Role, countersign_purpose, list_pending_purposes
from caseline.profiles.export_ftm import _values
from tests.cli_support import add_cli_users, cli_login

# Its own 600-person world through the command line (a model trained for it): left to
# `make test-all`; tests/test_address_confidence.py covers the model in `make test`.
pytestmark = pytest.mark.slow
runner = CliRunner()
AS_OF = "2026-01-01"  # the generated world's reference date
SUPERVISOR = Actor("sam", Role.SUPERVISOR)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("addresses")
    saved = {k: os.environ.get(k) for k in ("CASELINE_HOME", "DATABASE_URL", "CASELINE_TOKEN")}
    os.environ["CASELINE_HOME"] = str(home)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("CASELINE_TOKEN", None)
    add_cli_users(runner)
    os.environ["CASELINE_TOKEN"] = cli_login(runner, "engineer")["CASELINE_TOKEN"]
    world = home / "world"
    generated = runner.invoke(
        app, ["generate", "--persons", "600", "--seed", "4", "--out", str(world)]
    )
    assert generated.exit_code == 0, generated.output
    assert runner.invoke(app, ["ingest", str(world)]).exit_code == 0
    assert runner.invoke(app, ["resolve"]).exit_code == 0
    yield home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _evaluate(workspace: Path, current: Path, *extra: str) -> tuple[int, str, str]:
    world = workspace / "world"
    result = runner.invoke(
        app,
        [
            "evaluate", "addresses", "--truth", str(world / "truth.csv"),
            "--current", str(current), "--as-of", AS_OF, *extra,
        ],
    )  # fmt: skip
    return result.exit_code, result.stdout, result.output


def test_address_confidence_beats_both_rules_and_prints_json_last(workspace: Path) -> None:
    plot = workspace / "reliability.png"
    code, stdout, output = _evaluate(
        workspace, workspace / "world" / "persons.csv", "--plot", str(plot)
    )
    assert code == 0, output
    figures = json.loads(stdout.strip().splitlines()[-1])
    caseline, recent, counted = (figures[m] for m in ("caseline", "most_recent", "most_records"))
    assert caseline["brier"] < recent["brier"] and caseline["brier"] < counted["brier"]
    assert caseline["top1_accuracy"] > counted["top1_accuracy"]
    assert caseline["top1_accuracy"] >= recent["top1_accuracy"]
    assert caseline["ece"] < recent["ece"]
    assert 0.5 < figures["ceiling"] <= 1.0
    assert figures["persons"] > 300 and set(figures["by_group"]) >= {"anglo", "hispanic"}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ceiling" in output and "most_recent" in output
    # which model scored, and the groups the most-recent rule beats, are said
    assert figures["model"]["version"].startswith("caseline-address")
    assert "persons" in figures["model"]["trained_on"] and "address model" in output
    below = [
        name
        for name, group in figures["by_group"].items()
        if group["caseline"]["top1_accuracy"] < group["most_recent"]["top1_accuracy"]
    ]
    assert figures["groups_below_most_recent"] == sorted(below)
    assert figures["targets"]["no_group_below_most_recent"] == (not below)


def test_an_unreadable_current_address_is_left_out_and_the_rest_scored(workspace: Path) -> None:
    source = workspace / "world" / "persons.csv"
    changed = workspace / "current-with-a-bad-address.csv"
    with source.open() as handle, changed.open("w", newline="") as out:
        rows = list(csv.DictReader(handle))
        writer = csv.writer(out)
        writer.writerow(["entity_id", "address"])
        for index, row in enumerate(rows):
            address = "APT 3, , ZZ" if index == 0 else row["current_address"]
            writer.writerow([row["entity_id"], address])
    code, stdout, output = _evaluate(workspace, changed)
    assert code == 0, output
    assert json.loads(stdout.strip().splitlines()[-1])["unreadable_addresses"] == 1
    assert f"{changed}:2" in output


def test_a_current_file_without_its_columns_exits_2_naming_it(workspace: Path) -> None:
    wrong = workspace / "wrong.csv"
    wrong.write_text("person,where\nE1,somewhere\n")
    code, _stdout, output = _evaluate(workspace, wrong)
    assert code == 2
    assert f"{wrong}:1" in output and "entity_id and address" in output


def test_a_bad_reference_date_exits_2(workspace: Path) -> None:
    world = workspace / "world"
    result = runner.invoke(
        app,
        [
            "evaluate", "addresses", "--truth", str(world / "truth.csv"),
            "--current", str(world / "persons.csv"), "--as-of", "2026-13-01",
        ],
    )  # fmt: skip
    assert result.exit_code == 2 and "not a date" in result.output


def test_the_ftm_export_validates_with_followthemoney_and_is_audited(workspace: Path) -> None:
    out = workspace / "persons.ftm.jsonl"
    export = ["export", "--format", "ftm", "--out", str(out), "--purpose",
              "load into Aleph for tests", "--as-of", AS_OF]  # fmt: skip
    waiting = runner.invoke(app, export)  # a bulk export waits for a countersignature
    assert waiting.exit_code == 2 and "countersign" in waiting.output, waiting.output
    assert not out.exists()
    database = Database(load_settings().resolved_database_url)
    with database.transaction() as session:
        for pending in list_pending_purposes(session, actor=SUPERVISOR):
            countersign_purpose(session, pending.id, actor=SUPERVISOR)
    database.dispose()
    result = runner.invoke(app, export)
    assert result.exit_code == 0, result.output
    entities = [json.loads(line) for line in out.read_text().splitlines()]
    for data in entities:
        schema = ftm.get(data["schema"])
        assert schema is not None
        assert schema.validate(data) is None  # raises InvalidData on a bad value
        assert EntityProxy.from_dict(data).id == data["id"]
    persons = [e for e in entities if e["schema"] == "Person"]
    addresses = {e["id"]: e for e in entities if e["schema"] == "Address"}
    database = Database(load_settings().resolved_database_url)
    with database.transaction() as session:
        assert len(persons) == session.scalar(select(func.count()).select_from(Person))
        exports = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export_persons")
        ).all()
    database.dispose()
    assert exports and exports[-1].details["persons"] == len(persons)
    assert exports[-1].purpose == "load into Aleph for tests"
    referenced = {ref for p in persons for ref in p["properties"].get("addressEntity", [])}
    assert referenced == set(addresses)  # every address belongs to a person, and exists
    summary = next(iter(addresses.values()))["properties"]["summary"][0]
    assert summary.startswith("probability current ") and AS_OF in summary
    assert any("birthDate" in p["properties"] for p in persons)


def test_an_exported_property_lists_its_values_the_same_whatever_the_row_order() -> None:
    names = ["GARCIA", "GARCIA LOPEZ", "LOPEZ", None, "GARCIA LOPEZ", ""]
    listed = {
        tuple(_values(pd.Series(order))) for order in (names, names[::-1], names[2:] + names[:2])
    }
    assert listed == {("GARCIA LOPEZ", "GARCIA", "LOPEZ")}  # most stated first, ties A to Z
