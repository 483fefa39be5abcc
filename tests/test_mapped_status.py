"""A mapped file's `status` and `status_on`: status evidence from any source."""

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import PersonRecord, SourceRecord
from caseline.errors import MappingError
from caseline.ingest import ingest_file, list_problems
from caseline.profiles import load_status_records, status_by_person
from caseline.resolve import resolve_incrementally
from caseline.sources.base import Row
from caseline.sources.mapped import MappedSource, load_mapping, parse_mapping
from caseline.standardise.status import STOPPING, StatusTerm, clean_status
from caseline.synth import WorldSummary
from tests.conftest import OPERATOR

AS_OF = dt.date(2026, 1, 1)
MAPPING = """\
source: county_benefits
key: case_no
fields:
  given_name: first
  family_name: last
  date_of_birth: dob
  licence_number: licence
  status: immigration_status
  status_on: {column: status_date, format: "%m/%d/%Y"}
"""


def _adapter(tmp_path: Path) -> MappedSource:
    path = tmp_path / "county.yaml"
    path.write_text(MAPPING)
    return MappedSource(load_mapping(path))


def _row(status: str, status_date: str = "") -> Row:
    return Row(
        {"case_no": "C1", "first": "Ana", "last": "Lopez", "dob": "1980-02-03", "licence": "",
         "immigration_status": status, "status_date": status_date}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("words", "term"),
    [
        ("Green card", "permanent_resident"),
        ("naturalized", "naturalised_citizen"),
        ("LAWFUL-PERMANENT_resident", "permanent_resident"),
        ("TPS", "protected_status"),
        ("Final removal order", "removal_order"),
    ],
)
def test_a_status_in_the_vocabulary_is_stored_with_the_files_words_and_date(
    tmp_path: Path, words: str, term: str
) -> None:
    row = _row(words, "05/01/2024")
    record = _adapter(tmp_path).to_record(row)
    assert record.extra == {"status": term, "status_stated": words, "status_on": "2024-05-01"}
    assert row.issues == []


def test_unknown_status_words_are_a_value_issue_and_a_status_of_unclear_meaning(
    tmp_path: Path,
) -> None:
    row = _row("blue card", "31/12/2024")  # a day/month order the mapping does not read
    record = _adapter(tmp_path).to_record(row)
    assert record.extra == {"status": "unclear", "status_stated": "blue card"}
    assert {issue.field for issue in row.issues} == {"immigration_status", "status_date"}
    reason = next(i.reason for i in row.issues if i.field == "immigration_status")
    assert "'blue card' is not a status Caseline knows" in reason and "permanent_resident" in reason
    blank = _row("  ")
    assert _adapter(tmp_path).to_record(blank).extra == {} and blank.issues == []


def test_a_status_takes_no_format(tmp_path: Path) -> None:
    document = {
        "source": "x",
        "key": "id",
        "fields": {"status": {"column": "s", "format": "%Y"}},
    }
    with pytest.raises(MappingError, match=r"fields\.status: format applies to date fields"):
        parse_mapping(document, where="x.yaml")


def _people(world: WorldSummary, count: int) -> list[dict[str, str]]:
    """Motor-vehicle rows of distinct persons with a licence and a date of birth."""
    chosen: dict[str, dict[str, str]] = {}
    with world.source_files["motor_vehicle"].open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["licence_number"] and row["dob"] and row["licence_number"] not in chosen:
                chosen[row["licence_number"]] = row
            if len(chosen) == count:
                break
    return list(chosen.values())


def test_a_mapped_file_states_status_that_resolution_carries_to_the_person(
    mutable_resolved: tuple[Settings, Database], small_world: WorldSummary, tmp_path: Path
) -> None:
    settings, database = mutable_resolved
    stated = [("Green card", "05/01/2024"), ("naturalized", "07/04/2019"), ("blue card", "")]
    path = tmp_path / "county_statuses.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_no", "first", "last", "dob", "licence", "immigration_status",
                         "status_date"])  # fmt: skip
        for number, (person, (words, on)) in enumerate(
            zip(_people(small_world, len(stated)), stated, strict=True)
        ):
            writer.writerow([f"C{number}", person["first_name"], person["last_name"],
                             person["dob"], person["licence_number"], words, on])  # fmt: skip
    with database.transaction() as session:
        summary = ingest_file(
            session, path, _adapter(tmp_path), identifier_key=settings.identifier_key,
            actor=OPERATOR,
        )  # fmt: skip
    assert (summary.loaded, summary.quarantined, summary.value_issues) == (3, 0, 1)
    resolve_incrementally(
        database, models_dir=settings.models_dir, threshold=settings.match_threshold,
        actor=OPERATOR,
    )  # fmt: skip
    with database.transaction() as session:
        placed = dict(
            session.execute(
                select(SourceRecord.source_key, PersonRecord.person_id)
                .join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
                .where(SourceRecord.source == "county_benefits")
            ).all()
        )
        assert set(placed) == {"C0", "C1", "C2"}
        statuses = status_by_person(load_status_records(session, list(placed.values())), AS_OF)
        problems = list_problems(session, actor=OPERATOR, file_contains="county_statuses")
    found = {
        e.stated: e
        for status in statuses.values()
        for e in status.evidence
        if e.source == "county_benefits"
    }
    assert found["Green card"].term is StatusTerm.PERMANENT_RESIDENT
    assert found["Green card"].on == dt.date(2024, 5, 1)
    assert found["naturalized"].term is StatusTerm.NATURALISED_CITIZEN
    assert found["naturalized"].on == dt.date(2019, 7, 4)
    assert found["blue card"].term is StatusTerm.UNCLEAR and found["blue card"].on is None
    assert all(e.stops for e in found.values())
    for key, words in (("C0", "Green card"), ("C2", "blue card")):
        assert found[words] in statuses[placed[key]].stopping
    issue = next(p for p in problems if p.field == "immigration_status")
    assert issue.text == "blue card" and not issue.quarantined and issue.line == 4
    assert "is not a status Caseline knows" in issue.reason


def test_the_status_vocabulary_in_the_mapping_guide_is_the_one_ingest_reads() -> None:
    guide = (Path(__file__).resolve().parents[1] / "docs" / "mapping.md").read_text()
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \| (yes|no) \|$", guide, re.M)
    assert {term for term, _, _ in rows} == {t.value for t in StatusTerm} - {"unclear"}
    for term, words, stops in rows:
        for said in words.split(","):
            assert clean_status(said.strip()).value == term, said
        assert (StatusTerm(term) in STOPPING) == (stops == "yes"), term
