"""Mapped sources: any person file plus a YAML mapping, including the public Febrl data."""

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import RecordValueIssue, SourceRecord
from caseline.errors import MappingError
from caseline.ingest import ingest_file
from caseline.sources.mapped import MappedSource, load_mapping, parse_mapping
from tests.conftest import OPERATOR

FEBRL_MAPPING = """\
source: febrl3                 # the source name records get
key: rec_id                    # the column that is the source key
fields:                        # canonical field: column, or {column, format}
  given_name: given_name
  family_name: surname
  date_of_birth: {column: date_of_birth, format: "%Y%m%d"}
  other_id: soc_sec_id           # an identifier of no known format
  street_number: street_number
  street: address_1
  city: suburb
  state: state
  postcode: postcode
"""
ROWS = [
    {"rec_id": "rec-1-org", "given_name": "mitchell", "surname": "green", "street_number": "7",
     "address_1": "wallaby place", "suburb": "cleveland", "postcode": "2119", "state": "sa",
     "date_of_birth": "19560409", "soc_sec_id": "1804974"},
    {"rec_id": "rec-1-dup-0", "given_name": "mitchell", "surname": "gren", "street_number": "7",
     "address_1": "wallaby pl", "suburb": "cleveland", "postcode": "2119", "state": "sa",
     "date_of_birth": "19560431", "soc_sec_id": "180 4974"},
]  # fmt: skip


def _mapping(tmp_path: Path, text: str = FEBRL_MAPPING) -> MappedSource:
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    return MappedSource(load_mapping(path))


def _write(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"febrl3.{kind}"
    if kind == "csv":
        header = list(ROWS[0])
        lines = [",".join(header)] + [",".join(row[c] for c in header) for row in ROWS]
        path.write_text("\n".join(lines) + "\n")
    elif kind == "jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    else:
        pq.write_table(pa.Table.from_pylist(ROWS), path)
    return path


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_the_issue_mapping_loads_febrl_rows_from_any_format(
    database: Database, settings: Settings, tmp_path: Path, kind: str
) -> None:
    adapter = _mapping(tmp_path)
    with database.transaction() as session:
        summary = ingest_file(session, _write(tmp_path, kind), adapter,
                              identifier_key=settings.identifier_key, actor=OPERATOR)  # fmt: skip
    assert (summary.source, summary.loaded, summary.quarantined) == ("febrl3", 2, 0)
    with database.transaction() as session:
        records = {r.source_key: r for r in session.scalars(select(SourceRecord))}
        issues = list(session.scalars(select(RecordValueIssue)))
    original, duplicate = records["rec-1-org"], records["rec-1-dup-0"]
    assert (original.given_name, original.family_name) == ("MITCHELL", "GREEN")
    assert original.date_of_birth == dt.date(1956, 4, 9)
    assert (original.street_number, original.street, original.city) == (
        "7",
        "WALLABY PL",
        "CLEVELAND",
    )
    assert original.street == duplicate.street  # 'place' and 'pl' standardise alike
    assert (original.state, original.postcode) == ("SA", "2119")
    assert original.other_id_hash is not None
    assert original.other_id_hash == duplicate.other_id_hash  # '180 4974' is the same identifier
    # 31 April does not exist: the date is left out with the reason, the record is kept.
    assert duplicate.date_of_birth is None
    assert [(i.field, i.value) for i in issues] == [("date_of_birth", "19560431")]


def test_a_key_of_several_columns_joins_them() -> None:
    mapping = parse_mapping(
        {"source": "clinic", "key": ["site", "patient"], "fields": {"full_name": "name"}}, where="m"
    )
    adapter = MappedSource(mapping)
    assert adapter.source_key({"site": "A", "patient": "17", "name": "x"}) == "A|17"
    assert adapter.source_key({"site": "A", "patient": " ", "name": "x"}) == ""


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("- not a mapping", "a mapping is a YAML object"),
        ("source: Bad Name\nkey: id\nfields: {given_name: g}", "source must be"),
        ("source: s\nfields: {given_name: g}", "key must be"),
        ("source: s\nkey: id\nfields: {}", "fields must map"),
        ("source: s\nkey: id\nfields: {nickname: g}", "unknown canonical field 'nickname'"),
        ("source: s\nkey: id\nfields: {given_name: {format: x}}", "give a column name"),
        (
            "source: s\nkey: id\nfields: {given_name: {column: g, format: '%Y'}}",
            "date fields and full_name only",
        ),
        (
            "source: s\nkey: id\nfields: {full_name: {column: n, format: surname_last}}",
            "not family_first or given_first",
        ),
        ("source: s\nkey: id\nfields: {date_of_birth: {column: d, format: ymd}}", "strptime"),
        ("source: s\nkey: id\nfields: {given_name: g}\nextra: 1", "unknown entries: extra"),
        ("source: [unclosed", "not valid YAML"),
    ],
)
def test_a_bad_mapping_says_where_and_why(tmp_path: Path, document: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(document)
    with pytest.raises(MappingError, match=message) as error:
        load_mapping(path)
    assert str(path) in str(error.value)


def test_a_full_name_and_a_one_line_address_are_split(tmp_path: Path) -> None:
    from caseline.sources import Row

    adapter = _mapping(tmp_path, "source: people\nkey: id\nfields:\n  full_name: name\n"
                                 "  address: addr\n  ssn: tin\n  sex: gender\n")  # fmt: skip
    row = Row({"id": "1", "name": "LOPEZ GARCIA, Maria J",
               "addr": "12 N. Main Street Apt 3, Springfield, IL 62704",
               "tin": "123-45-6789", "gender": "female"})  # fmt: skip
    record = adapter.to_record(row)
    assert (record.given_name, record.middle_name, record.family_name) == (
        "MARIA",
        "J",
        "LOPEZ GARCIA",
    )
    assert (record.street_number, record.street, record.unit) == ("12", "N MAIN ST", "3")
    assert (record.city, record.state, record.postcode) == ("SPRINGFIELD", "IL", "62704")
    assert record.ssn == "123456789" and record.sex == "F"
    assert row.issues == []


def test_typed_values_read_as_a_csv_would_hold_them(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    """pandas writes an integer column with gaps as floats: 1804974.0 must still be 1804974."""
    rows = [{**ROWS[0], "rec_id": 17.0, "soc_sec_id": 1804974.0, "street_number": float("nan")}]
    path = tmp_path / "febrl3.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    with database.transaction() as session:
        summary = ingest_file(session, path, _mapping(tmp_path),
                              identifier_key=settings.identifier_key, actor=OPERATOR)  # fmt: skip
    assert summary.loaded == 1
    with database.transaction() as session:
        record = session.scalars(select(SourceRecord)).one()
    assert record.source_key == "17"
    assert record.street_number is None


def test_tab_separated_files_load(database: Database, settings: Settings, tmp_path: Path) -> None:
    header = list(ROWS[0])
    path = tmp_path / "febrl3.tsv"
    path.write_text(
        "\t".join(header) + "\n" + "\n".join("\t".join(r[c] for c in header) for r in ROWS) + "\n"
    )
    with database.transaction() as session:
        summary = ingest_file(session, path, _mapping(tmp_path),
                              identifier_key=settings.identifier_key, actor=OPERATOR)  # fmt: skip
    assert (summary.loaded, summary.quarantined) == (2, 0)


def test_a_family_name_first_column_is_split_that_way(tmp_path: Path) -> None:
    from caseline.sources import Row

    adapter = _mapping(tmp_path, "source: roster\nkey: id\nfields:\n"
                                 "  full_name: {column: name, format: family_first}\n")  # fmt: skip
    record = adapter.to_record(Row({"id": "1", "name": "Nguyễn Văn Hùng"}))
    assert (record.family_name, record.given_name) == ("NGUYEN", "VAN HUNG")
    assert record.full_name_raw == "Nguyễn Văn Hùng"  # the original, untransliterated


def test_a_timestamp_column_reads_as_its_date(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    rows = [{**ROWS[0], "date_of_birth": dt.datetime(1956, 4, 9)}]
    path = tmp_path / "febrl3.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    text = FEBRL_MAPPING.replace('{column: date_of_birth, format: "%Y%m%d"}', "date_of_birth")
    with database.transaction() as session:
        summary = ingest_file(session, path, _mapping(tmp_path, text),
                              identifier_key=settings.identifier_key, actor=OPERATOR)  # fmt: skip
    assert (summary.loaded, summary.value_issues) == (1, 0)
    with database.transaction() as session:
        assert session.scalars(select(SourceRecord)).one().date_of_birth == dt.date(1956, 4, 9)


def test_json_lines_may_leave_out_null_fields(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    first = {k: v for k, v in ROWS[0].items() if k != "soc_sec_id"}
    path = tmp_path / "febrl3.jsonl"
    path.write_text(json.dumps(first) + "\n" + json.dumps(ROWS[1]) + "\n")
    with database.transaction() as session:
        summary = ingest_file(session, path, _mapping(tmp_path),
                              identifier_key=settings.identifier_key, actor=OPERATOR)  # fmt: skip
    assert (summary.loaded, summary.quarantined) == (2, 0)


def test_a_date_format_that_cannot_read_a_date_is_refused_with_the_mapping(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text('source: s\nkey: id\nfields: {date_of_birth: {column: d, format: "%Q"}}\n')
    with pytest.raises(MappingError, match="reads a whole date"):
        load_mapping(path)


def test_a_truth_file_written_with_float_keys_still_finds_its_records(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    from caseline.resolve import evaluate_resolution, resolve_persons

    rows = [{**ROWS[0], "rec_id": 17.0}, {**ROWS[1], "rec_id": 18.0}]
    path = tmp_path / "febrl3.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    with database.transaction() as session:
        ingest_file(session, path, _mapping(tmp_path),
                    identifier_key=settings.identifier_key, actor=OPERATOR)  # fmt: skip
    resolve_persons(database, models_dir=settings.models_dir, threshold=0.95, actor=OPERATOR)
    truth = tmp_path / "truth.csv"
    truth.write_text("source,source_key,entity_id\nfebrl3,17.0,1\nfebrl3,18.0,1\n")
    with database.transaction() as session:
        scores = evaluate_resolution(session, truth, actor=OPERATOR)
    assert scores.missing_records == 0
