import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caseline.cli import app
from tests.cli_support import add_cli_users, cli_login

runner = CliRunner()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace whose commands act as its data engineer."""
    monkeypatch.setenv("CASELINE_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CASELINE_TOKEN", raising=False)
    add_cli_users(runner)
    monkeypatch.setenv("CASELINE_TOKEN", cli_login(runner, "engineer")["CASELINE_TOKEN"])
    return tmp_path


def test_generate_ingest_resolve_evaluate_prints_json_last(workspace: Path) -> None:
    world = workspace / "world"
    assert (
        runner.invoke(
            app, ["generate", "--persons", "120", "--seed", "2", "--out", str(world)]
        ).exit_code
        == 0
    )
    ingested = runner.invoke(app, ["ingest", str(world)])
    assert ingested.exit_code == 0, ingested.output
    assert runner.invoke(app, ["resolve"]).exit_code == 0
    result = runner.invoke(app, ["evaluate", "--truth", str(world / "truth.csv")])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"precision", "recall", "f1"} <= set(figures)
    # Better than either trivial answer, each record alone or all of them one person (no
    # floor fitted to a seed: tests/test_resolve.py compares resolution with baselines).
    from caseline.resolve.evaluation import read_truth, score_assignments

    truth = read_truth(world / "truth.csv")
    alone = score_assignments(truth, {t.record_id: t.record_id for t in truth})
    together = score_assignments(truth, {t.record_id: "one" for t in truth})
    assert figures["bcubed_f1"] > max(alone.bcubed_f1, together.bcubed_f1)
    out = workspace / "figures" / "persons.json"
    to_file = runner.invoke(
        app, ["evaluate", "--truth", str(world / "truth.csv"), "--json", str(out)]
    )
    assert to_file.exit_code == 0 and str(out) in to_file.output.replace("\n", "")
    assert "{" not in to_file.stdout and json.loads(out.read_text())["f1"] == figures["f1"]
    verify = runner.invoke(app, ["audit", "verify"], env=cli_login(runner, "auditor"))
    assert verify.exit_code == 0 and "intact" in verify.output


def test_ingest_of_a_file_with_bad_rows_exits_1(workspace: Path) -> None:
    path = workspace / "utility.csv"
    path.write_text(
        "account_number,customer_name,service_address,service_city,service_state,service_zip,service_start,service_end\n"
        "U1,Ann Lee,1 Main St,Springfield,IL,62704,2020-01-01,\n"
        "U2,Bob Ray,2 Main St,Springfield,IL,62704,2020-13-01,\n"
        "U3,Cy Day,3 Main St\n"
    )
    result = runner.invoke(app, ["ingest", str(path)])
    assert result.exit_code == 1
    row = next(
        line for line in result.output.splitlines() if "utility.csv" in line and "loaded" in line
    )
    # loaded, quarantined, values left out
    assert [cell.strip() for cell in row.split("│")[3:6]] == ["2", "1", "1"]
    # and where and why, line by line
    assert "line 3, service_start: '2020-13-01' is not a valid date" in result.output
    assert "line 4, *: row has 3 fields, the header 8 (row quarantined)" in result.output
    listed = runner.invoke(app, ["problems", "--file", "utility"])
    assert listed.exit_code == 0
    assert "U3,Cy Day,3 Main St" in listed.output  # the quarantined row as written
    assert "2020-13-01" in listed.output  # the value left out


def test_a_missing_file_exits_2_naming_it(workspace: Path) -> None:
    result = runner.invoke(app, ["ingest", str(workspace / "nope.csv"), "--source", "tax"])
    assert result.exit_code == 2
    assert "nope.csv" in result.output and "no such file" in result.output


@pytest.mark.parametrize(
    "command", ["generate", "ingest", "problems", "resolve", "evaluate", "serve", "demo"]
)
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_a_refused_file_does_not_stop_the_others(workspace: Path) -> None:
    good = workspace / "utility.csv"
    good.write_text(
        "account_number,customer_name,service_address,service_city,service_state,service_zip,"
        "service_start,service_end\\nU1,Ann Lee,1 Main St,Springfield,IL,62704,2020-01-01,\\n"
    )
    bad = workspace / "tax.csv"
    bad.write_text("filing_id\\nT1\\n")
    result = runner.invoke(app, ["ingest", str(bad), str(good)])
    assert result.exit_code == 2
    assert "tax.csv:1: missing columns" in result.output
    assert "utility.csv" in result.output and "loaded" in result.output
