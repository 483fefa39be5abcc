from pathlib import Path

import pytest
from sqlalchemy import func, select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import IngestRun, QuarantinedRow, RecordValueIssue, SourceRecord
from caseline.errors import InputError
from caseline.ingest import ingest_file
from caseline.synth import WorldSummary
from tests.conftest import OPERATOR

MV_HEADER = (
    "transaction,licence_number,first_name,middle_name,last_name,suffix,dob,sex,"
    "street_address,city,state,zip,issued_on\n"
)


def _ingest(database: Database, settings: Settings, path: Path, source: str):  # type: ignore[no-untyped-def]
    with database.transaction() as session:
        return ingest_file(
            session, path, source, identifier_key=settings.identifier_key, actor=OPERATOR
        )


def _count(database: Database, model: type) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_every_generated_row_loads_with_its_provenance(
    database: Database, settings: Settings, small_world: WorldSummary
) -> None:
    for source, path in small_world.source_files.items():
        summary = _ingest(database, settings, path, source)
        assert summary.loaded == small_world.records_by_source[source]
        assert summary.quarantined == 0
    assert _count(database, SourceRecord) == sum(small_world.records_by_source.values())
    with database.transaction() as session:
        record = session.scalars(
            select(SourceRecord)
            .where(SourceRecord.source == "tax")
            .order_by(SourceRecord.line_number)
        ).first()
        assert record is not None
        run = session.get(IngestRun, record.ingest_run_id)
        assert run is not None and run.file_name.endswith("tax.csv") and len(run.file_sha256) == 64
        assert record.line_number >= 2
        assert record.ssn_hash is not None and len(record.ssn_hash) == 64


def test_reingesting_the_same_file_changes_nothing(
    database: Database, settings: Settings, small_world: WorldSummary
) -> None:
    path = small_world.source_files["utility"]
    _ingest(database, settings, path, "utility")
    before = _count(database, SourceRecord)
    again = _ingest(database, settings, path, "utility")
    assert again.already_ingested and again.loaded == 0
    assert _count(database, SourceRecord) == before
    assert _count(database, IngestRun) == 1


def test_bad_rows_are_quarantined_and_good_rows_around_them_load(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "motor_vehicle.csv"
    path.write_text(
        MV_HEADER
        + "A1,L1,Ann,,Lee,,1980-01-02,F,1 Main St,Springfield,IL,62704,2020-01-01\n"
        + "A2,L2,Bob,,Ray,,2023-02-30,M,2 Main St,Springfield,IL,62704,2020-01-01\n"
        + "A3,L3,Cy,,Day,,1970-05-06,M,3 Main St,Springfield,IL,62704\n"
        + "A1,L1,Ann,,Lee,,1980-01-02,F,1 Main St,Springfield,IL,62704,2020-01-01\n"
        + ",L5,No,,Key,,1970-05-06,M,3 Main St,Springfield,IL,62704,2020-01-01\n"
        + "A4,L4,Di,,Fox,,1990-07-08,F,4 Main St,Springfield,IL,62704,2021-03-04\n",
        encoding="utf-8",
    )
    summary = _ingest(database, settings, path, "motor_vehicle")
    assert (summary.loaded, summary.quarantined, summary.value_issues) == (3, 3, 1)
    with database.transaction() as session:
        rows = {r.line_number: r for r in session.scalars(select(QuarantinedRow))}
        issues = list(session.scalars(select(RecordValueIssue)))
    assert rows[4].field == "*" and rows[4].reason == "row has 12 fields, the header 13"
    assert rows[5].field == "transaction" and "duplicate" in rows[5].reason
    assert rows[6].field == "transaction" and "empty" in rows[6].reason
    # An impossible date does not lose the record: the date is left out, with the reason.
    assert [(i.line_number, i.field, i.value) for i in issues] == [(3, "dob", "2023-02-30")]
    assert "not a valid date" in issues[0].reason


def test_a_file_without_the_source_columns_is_refused_saying_where(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "tax.csv"
    path.write_text("filing_id,ssn\nT1,123-45-6789\n", encoding="utf-8")  # no tin, no name
    with pytest.raises(InputError, match=r"tax\.csv:1: missing columns: tin, taxpayer_name"):
        _ingest(database, settings, path, "tax")
    assert _count(database, IngestRun) == 0


def test_a_failure_part_way_leaves_no_partial_run(
    database: Database, settings: Settings, small_world: WorldSummary
) -> None:
    def fail_after_50_rows(rows: int) -> None:  # progress counts data rows, a block at a time
        if rows >= 50:
            raise RuntimeError("killed part-way")

    with pytest.raises(RuntimeError), database.transaction() as session:
        ingest_file(
            session,
            small_world.source_files["tax"],
            "tax",
            identifier_key=settings.identifier_key,
            actor=OPERATOR,
            progress=fail_after_50_rows,
        )
    assert _count(database, IngestRun) == 0
    assert _count(database, SourceRecord) == 0


def test_an_unknown_source_lists_the_known_ones(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    with pytest.raises(InputError, match="known sources: court, entry_exit, immigration_status"):
        _ingest(database, settings, path, "passport_office")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (MV_HEADER.encode() + "A1,L1,Zo\xeb\n".encode("latin-1"), r"csv:2: not UTF-8 text"),
        (b"", r"csv:1: missing columns"),
    ],
)
def test_unreadable_files_are_refused_naming_the_line(
    database: Database, settings: Settings, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "motor_vehicle.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        _ingest(database, settings, path, "motor_vehicle")
    assert _count(database, IngestRun) == 0


def test_values_that_do_not_fit_are_left_out_not_truncated(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "motor_vehicle.csv"
    good = "A1,L1,Ann,,Lee,,1980-01-02,F,1 Main St,Springfield,IL,62704,2020-01-01\n"
    path.write_text(
        MV_HEADER
        + good
        + "A2,L2,Bob,,Ray,,1980-01-02,M,2 Main St,Springfield,Illinois,62704,2020-01-01\n"
        + "A3,L3,Cy,,Day,,1970-05-06,X,3 Main St,Springfield,IL,62704-12345,2020-01-01\n"
        + "A4,L4,Di\x00,,Fox,,1990-07-08,F,4 Main St,Springfield,IL,62704,2021-03-04\n"
        + f"A5,L5,{'N' * 20_000},,Fox,,1990-07-08,F,4 Main St,Springfield,IL,62704,2021-03-04\n"
        + f"A6,L6,{'N' * 300},,Fox,,1990-07-08,F,4 Main St,Springfield,IL,62704,2021-03-04\n"
        + "\n   \n",
        encoding="utf-8",
    )
    summary = _ingest(database, settings, path, "motor_vehicle")
    assert (summary.loaded, summary.quarantined) == (4, 2)
    with database.transaction() as session:
        reasons = {r.line_number: r.reason for r in session.scalars(select(QuarantinedRow))}
        issues = {
            i.line_number: (i.field, i.reason) for i in session.scalars(select(RecordValueIssue))
        }
        long_name = session.scalar(select(SourceRecord).where(SourceRecord.source_key == "A6"))
    assert "NUL" in reasons[5]
    assert "longer than 10,000" in reasons[6]
    assert issues[3][0] == "state"
    assert issues[4][0] == "zip"
    assert issues[7] == ("given_name", "longer than 128 characters")
    assert long_name is not None
    assert long_name.given_name is None
    assert long_name.family_name == "FOX"
