"""The bad-input corpus: each case and the outcome it must have, on SQLite and PostgreSQL.

A case either loads (some rows, some quarantined, some values left out) or is refused whole
with the line and the reason; nothing half-written survives a refusal.
"""

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import IngestRun, QuarantinedRow, SourceRecord
from caseline.errors import InputError
from caseline.ingest import ingest_file
from tests.conftest import OPERATOR

HEADER = (
    "account_number,customer_name,service_address,service_city,service_state,service_zip,"
    "service_start,service_end\n"
)
GOOD = "U1,Ann Lee,1 Main St,Springfield,IL,62704,2020-01-01,\n"
GOOD_2 = "U2,Bob Ray,2 Main St,Springfield,IL,62704,2021-01-01,2022-01-01\n"


@dataclass(frozen=True)
class Case:
    content: bytes
    loaded: int = 0
    quarantined: int = 0
    value_issues: int = 0
    refused: str | None = None  # the message of a refused file
    encoding: str = "utf-8-sig"


LATIN_1_ROW = "U1,Zoë Müller,1 Main St,Köln,IL,62704,2020-01-01,\n"
HUGE = "A" * 10_000_000


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return (header + "".join(rows)).encode()


CASES = {
    "broken quoting": Case(
        _csv(GOOD, 'U3,"Cy Day,3 Main St,X,IL,62704,2020-01-01,\n', GOOD_2), 2, 1
    ),
    "latin-1 refused as UTF-8": Case(
        (HEADER + LATIN_1_ROW).encode("latin-1"), refused=r"utility\.csv:2: not UTF-8 text"
    ),
    "latin-1 with its encoding": Case(
        (HEADER + LATIN_1_ROW).encode("latin-1"), 1, encoding="latin-1"
    ),
    "utf-8 with BOM": Case(b"\xef\xbb\xbf" + _csv(GOOD), 1),
    "blank lines": Case(_csv("\n", GOOD, "\n\n  \n", GOOD_2, "\n"), 2),
    "extra column in a row": Case(
        _csv(GOOD, "U3,Cy,3 Main St,X,IL,62704,2020-01-01,,surplus\n"), 1, 1
    ),
    "extra column in the header": Case(
        _csv(GOOD.rstrip("\n") + ",hi\n", header=HEADER.rstrip("\n") + ",notes\n"), 1
    ),
    "missing column in a row": Case(_csv(GOOD, "U3,Cy,3 Main St\n"), 1, 1),
    "missing column in the header": Case(
        b"account_number,customer_name\nU1,Ann\n",
        refused=r"utility\.csv:1: missing columns: service_address",
    ),
    "impossible dates": Case(
        _csv("U1,Ann,1 Main St,X,IL,62704,2023-02-30,2099-13-01\n"), 1, value_issues=2
    ),
    "a 10 MB field": Case(_csv(GOOD, f"U3,{HUGE},3 Main St,X,IL,62704,,\n"), 1, 1),
    "SQL injection": Case(
        _csv('U1,"Robert\'); DROP TABLE source_records;--",1 Main St,X,IL,62704,,\n'), 1
    ),
    "HTML injection": Case(_csv("U1,<script>alert(1)</script> Lee,1 Main St,X,IL,62704,,\n"), 1),
    "duplicate source keys": Case(_csv(GOOD, GOOD, GOOD_2), 2, 1),
    "empty file": Case(b"", refused=r"utility\.csv:1: missing columns"),
    "binary file": Case(bytes(range(256)) * 8, refused=r"utility\.csv:1: "),
}


@pytest.mark.parametrize("name", CASES)
def test_bad_input_has_its_expected_outcome(
    name: str, database: Database, settings: Settings, tmp_path: Path
) -> None:
    case = CASES[name]
    path = tmp_path / "utility.csv"
    path.write_bytes(case.content)

    def ingest() -> object:
        with database.transaction() as session:
            return ingest_file(session, path, "utility", identifier_key=settings.identifier_key,
                               actor=OPERATOR, encoding=case.encoding)  # fmt: skip

    if case.refused is not None:
        with pytest.raises(InputError, match=case.refused):
            ingest()
        with database.transaction() as session:
            assert session.scalar(select(func.count()).select_from(IngestRun)) == 0
            assert session.scalar(select(func.count()).select_from(SourceRecord)) == 0
        return
    summary = ingest()
    assert (summary.loaded, summary.quarantined, summary.value_issues) == (  # type: ignore[attr-defined]
        case.loaded, case.quarantined, case.value_issues,
    )  # fmt: skip
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(SourceRecord)) == case.loaded
        reasons = [q.reason for q in session.scalars(select(QuarantinedRow))]
        assert len(reasons) == case.quarantined and all(reasons)


def test_injection_strings_are_stored_as_text(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "utility.csv"
    path.write_bytes(CASES["SQL injection"].content)
    with database.transaction() as session:
        ingest_file(
            session, path, "utility", identifier_key=settings.identifier_key, actor=OPERATOR
        )
    with database.transaction() as session:
        record = session.scalars(select(SourceRecord)).one()
    assert record.full_name_raw == "Robert'); DROP TABLE source_records;--"


def test_a_latin_1_file_keeps_its_accents_in_the_raw_name(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "utility.csv"
    path.write_bytes(CASES["latin-1 with its encoding"].content)
    with database.transaction() as session:
        ingest_file(
            session, path, "utility", identifier_key=settings.identifier_key, actor=OPERATOR,
            encoding="latin-1",
        )  # fmt: skip
    with database.transaction() as session:
        record = session.scalars(select(SourceRecord)).one()
    assert (record.full_name_raw, record.given_name, record.family_name) == (
        "Zoë Müller",
        "ZOE",
        "MULLER",
    )
