"""The column path stores exactly what the row-by-row path stores.

Every file here is ingested twice into an empty database, once through the adapters'
``to_record`` and the per-value normalisers (``row_by_row=True``) and once a block of
columns at a time, and the stored records, value issues, quarantined rows and summaries
must be identical: the generated world (as CSV, JSON Lines and Parquet), the bad-input
corpus, and hand-made files that break each rule once.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml
from sqlalchemy import inspect, select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import QuarantinedRow, RecordValueIssue, SourceRecord
from caseline.ingest import bulk, column_path, ingest_file
from caseline.ingest.readers import MAX_RECORD_LINES
from caseline.sources import SOURCES, SourceAdapter
from caseline.sources.mapped import MappedSource, parse_mapping
from caseline.synth import WorldSummary
from tests.conftest import OPERATOR
from tests.test_bad_input import CASES

Stored = dict[str, Any]


class _Undone(Exception):
    """Raised to roll an ingest back once what it stored has been read."""


def _stored(
    database: Database,
    settings: Settings,
    path: Path,
    source: str | SourceAdapter,
    *,
    row_by_row: bool,
    encoding: str = "utf-8-sig",
) -> Stored:
    """What ingesting ``path`` stores (then rolled back), or the error that refused it."""
    found: Stored = {}
    try:
        with database.transaction() as session:
            summary = ingest_file(session, path, source, identifier_key=settings.identifier_key,
                                  actor=OPERATOR, encoding=encoding,
                                  row_by_row=row_by_row)  # fmt: skip
            records = [
                {c.name: getattr(r, c.name) for c in SourceRecord.__table__.columns
                 if c.name != "ingest_run_id"}
                for r in session.scalars(select(SourceRecord).order_by(SourceRecord.record_id))
            ]  # fmt: skip
            issues = sorted(
                (i.record_id, i.line_number, i.field, i.reason, i.value)
                for i in session.scalars(select(RecordValueIssue))
            )
            quarantined = sorted(
                (q.line_number, q.field, q.reason, q.raw)
                for q in session.scalars(select(QuarantinedRow))
            )
            found = {
                "summary": (summary.loaded, summary.quarantined, summary.value_issues,
                            summary.examples),
                "records": records, "issues": issues, "quarantined": quarantined,
            }  # fmt: skip
            raise _Undone
    except _Undone:
        pass
    except Exception as exc:  # noqa: BLE001 - a refusal must be the same refusal
        found = {"refused": f"{type(exc).__name__}: {exc}"}
    return found


def _assert_same(
    database: Database, settings: Settings, path: Path, source: str | SourceAdapter, **kw: Any
) -> Stored:
    by_rows = _stored(database, settings, path, source, row_by_row=True, **kw)
    by_columns = _stored(database, settings, path, source, row_by_row=False, **kw)
    assert by_columns.keys() == by_rows.keys()
    for part in by_rows:
        assert by_columns[part] == by_rows[part], f"{path.name}: {part} differ"
    return by_rows


def _as_jsonl(path: Path, target: Path) -> Path:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    target.write_text("".join(json.dumps({k: v for k, v in r.items() if v}) + "\n" for r in rows))
    return target


def _as_parquet(path: Path, target: Path) -> Path:
    names = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    options = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()))
    pq.write_table(pacsv.read_csv(path, convert_options=options), target, row_group_size=500)
    return target


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_the_world_stores_the_same_through_columns_as_row_by_row(
    database: Database, settings: Settings, small_world: WorldSummary, source: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    path = small_world.source_files[source]
    stored = _assert_same(database, settings, path, source)
    assert len(stored["records"]) == small_world.records_by_source[source]
    _assert_same(database, settings, _as_jsonl(path, tmp_path / f"{source}.jsonl"), source)
    _assert_same(database, settings, _as_parquet(path, tmp_path / f"{source}.parquet"), source)


def test_a_large_file_prepared_in_a_worker_without_indexes_stores_the_same(
    database: Database, settings: Settings, small_world: WorldSummary,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Large files are prepared in a forked worker and loaded without the secondary indexes
    (and, on PostgreSQL, the foreign keys), made again at the end: the same records, and
    the same indexes and constraints."""
    monkeypatch.setattr(column_path, "WORKER_BYTES", 0)
    monkeypatch.setattr(bulk, "DEFER_INDEXES_FROM", 0)
    indexes_before = _index_names(database)
    foreign_keys_before = inspect(database.engine).get_foreign_keys("source_records")
    for source, path in small_world.source_files.items():
        _assert_same(database, settings, path, source)
    with database.transaction() as session:
        summary = ingest_file(session, small_world.source_files["tax"], "tax",
                              identifier_key=settings.identifier_key, actor=OPERATOR)  # fmt: skip
    assert summary.loaded == small_world.records_by_source["tax"]
    assert _index_names(database) == indexes_before
    assert inspect(database.engine).get_foreign_keys("source_records") == foreign_keys_before


def _index_names(database: Database) -> set[str]:
    return {str(index["name"]) for index in inspect(database.engine).get_indexes("source_records")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_bad_input_corpus_stores_the_same_through_columns(
    database: Database, settings: Settings, tmp_path: Path, name: str
) -> None:
    case = CASES[name]
    path = tmp_path / "utility.csv"
    path.write_bytes(case.content)
    _assert_same(database, settings, path, "utility", encoding=case.encoding)


MV_HEADER = (
    "transaction,licence_number,first_name,middle_name,last_name,suffix,dob,sex,"
    "street_address,city,state,zip,issued_on,vehicle_make\n"
)
GOOD_MV = "A{n},L{n},Ann,,Lee,,1980-01-02,F,1 Main St,Springfield,IL,62704,2020-01-01,FORD\n"
HAND_MADE = {
    "every rule broken once": MV_HEADER
    + GOOD_MV.format(n=1)
    + "A2,L2,Bob,,Ray,,2023-02-30,M,2 Main St,Springfield,Illinois,62704-12345,2020-13-01,\n"
    + "A3,L3,Cy,,Day,,1970-05-06,M,3 Main St,Springfield,IL,62704\n"
    + GOOD_MV.format(n=1)
    + ",L5,No,,Key,,1970-05-06,M,3 Main St,Springfield,IL,62704,2020-01-01,\n"
    + "A6,L6,Di\x00,,Fox,,1990-07-08,F,4 Main St,Springfield,IL,62704,2021-03-04,\n"
    + f"A7,L7,{'N' * 20_000},,Fox,,1990-07-08,F,4 Main St,Springfield,IL,62704,2021-03-04,\n"
    + f"A8,L8,{'N' * 300},,{'F' * 200},,1990-07-08,Q,4 Main St,Springfield,IL,62704,,\n"
    + f"{'K' * 300},L9,Al,,Bo,,1990-07-08,F,4 Main St,Springfield,IL,62704,,\n"
    + '"A10",L10,"Multi\nLine",,"O""Neil",,1990-07-08,F,"5 Main St, Apt 3",X,IL,62704,,\n'
    + 'A11,L11,a"b,"never closes,,,,,,,,,,\n'
    + "\n  \n,,,,,,,,,,,,,\n"
    + GOOD_MV.format(n=12)
    + "A13,L13,Zoë,,Łukasz-Ó'Brien,Jr.,1890-01-01,male,12 N. Main Street Apt. 3,Köln,il,"
    + "62704,2020-01-01,\n"
    + GOOD_MV.format(n=12),
    "a quote left open to the end": MV_HEADER
    + GOOD_MV.format(n=1)
    + 'A2,"L2,Bob\n'
    + GOOD_MV.format(n=3),
    "a record longer than the line limit": MV_HEADER
    + 'A1,"'
    + "x\n" * (MAX_RECORD_LINES + 3)
    + '",Ann,,Lee,,,,,,,,,\n'
    + GOOD_MV.format(n=2),
    "a header that cannot be read": 'transaction,"licence_number\n' + GOOD_MV.format(n=1),
    "lines ending in CR alone": (MV_HEADER + GOOD_MV.format(n=1)).replace("\n", "\r"),
    "CRLF and a header named twice": MV_HEADER.replace(",vehicle_make", ",city").replace(
        "\n", "\r\n"
    )
    + GOOD_MV.format(n=1).replace("\n", "\r\n"),
}


@pytest.mark.parametrize("name", sorted(HAND_MADE))
def test_hand_made_bad_files_store_the_same_through_columns(
    database: Database, settings: Settings, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "motor_vehicle.csv"
    path.write_bytes(HAND_MADE[name].encode())
    _assert_same(database, settings, path, "motor_vehicle")


STATUS_MAPPING = """\
source: status_list
key: [case, seq]
fields:
  full_name: {column: name, format: family_first}
  date_of_birth: {column: born, format: "%d.%m.%Y"}
  ssn: tin
  address: home
  street: street
  street_number: number
  employer: employer
  status: status
  status_on: {column: since, format: "%d.%m.%Y"}
  passport_number: passport
"""
STATUS_ROWS = [
    "case,seq,name,born,tin,home,street,number,employer,status,since,passport",
    'C1,1,NGUYEN VAN HUNG,01.02.1980,123-45-6789,"12 Main St, Springfield, IL 62704",,,Acme,'
    "green card,03.04.2010,X1234567",
    'C1,2,"GARCIA LOPEZ, MARIA",31.02.1980,912-70-1234,"PO Box 12, Austin TX",Elm Street,7,,'
    "asylum pending,,bad!",
    "C2,,WANG XIAO MING,01.01.2999,000-12-3456,nowhere at all,,,,space alien,01.01.2000,",
    'C3,1,Ann Lee,,,"4 Oak Ave Apt 2, Boston, MA 02108",,,Beta,space alien,05.05.2005,',
    "C1,1,duplicate key,,,,,,,,,",
]


@pytest.mark.parametrize("kind", ["csv", "tsv", "jsonl", "parquet"])
def test_a_mapped_file_stores_the_same_through_columns_in_every_format(
    database: Database, settings: Settings, tmp_path: Path, kind: str
) -> None:
    adapter = MappedSource(parse_mapping(yaml.safe_load(STATUS_MAPPING), where="mapping"))
    source = tmp_path / "people.csv"
    source.write_text("\n".join(STATUS_ROWS) + "\n")
    path = {
        "csv": lambda: source,
        "tsv": lambda: _as_tsv(source, tmp_path / "people.tsv"),
        "jsonl": lambda: _as_jsonl(source, tmp_path / "people.jsonl"),
        "parquet": lambda: _as_parquet(source, tmp_path / "people.parquet"),
    }[kind]()
    stored = _assert_same(database, settings, path, adapter)
    assert stored["summary"][:3] == (3, 2, 3)


def _as_tsv(path: Path, target: Path) -> Path:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    target.write_text("".join("\t".join(row) + "\n" for row in rows))
    return target
