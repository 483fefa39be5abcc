"""CSV read by Arrow, where its parse is the csv module's, stores the same as row by row.

Files here are read in pieces of a few bytes, so that most pieces are plain and go to Arrow
while the others (and every rule broken) go to the csv module, in one file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from caseline.config import Settings
from caseline.db import Database
from caseline.ingest import column_readers
from caseline.ingest.arrow_csv import plain_columns
from caseline.sources import SOURCES
from caseline.synth import WorldSummary
from tests.test_bad_input import CASES
from tests.test_ingest_columnar import HAND_MADE, _assert_same

PIECES = {"small pieces": (16, 200), "one piece after the header": (16, 1 << 30)}


@pytest.fixture(params=sorted(PIECES))
def pieces(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    first, rest = PIECES[request.param]
    monkeypatch.setattr(column_readers, "FIRST_CHUNK_BYTES", first)
    monkeypatch.setattr(column_readers, "CHUNK_BYTES", rest)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_bad_input_corpus_stores_the_same_read_in_pieces(
    database: Database, settings: Settings, tmp_path: Path, name: str, pieces: None
) -> None:
    case = CASES[name]
    path = tmp_path / "utility.csv"
    path.write_bytes(case.content)
    _assert_same(database, settings, path, "utility", encoding=case.encoding)


@pytest.mark.parametrize("name", sorted(HAND_MADE))
def test_hand_made_bad_files_store_the_same_read_in_pieces(
    database: Database, settings: Settings, tmp_path: Path, name: str, pieces: None
) -> None:
    path = tmp_path / "motor_vehicle.csv"
    path.write_bytes(HAND_MADE[name].encode())
    _assert_same(database, settings, path, "motor_vehicle")


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_the_world_stores_the_same_read_in_pieces(
    database: Database, settings: Settings, small_world: WorldSummary, source: str, pieces: None
) -> None:
    _assert_same(database, settings, small_world.source_files[source], source)


@pytest.mark.parametrize(
    "text",
    [
        'a,"b,c",d\n',
        'a,"say ""hi""",\r\n',
        "a,,\nb,c,d",
        'a,"",c\n',
        "a,b,Zoë\n",
    ],
)
def test_plain_text_is_read_by_arrow_as_the_csv_module_reads_it(text: str) -> None:
    import csv

    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1].removesuffix("\n")
    lines = [line for line in lines if line]
    expected = [list(column) for column in zip(*csv.reader(lines, strict=True), strict=True)]
    assert plain_columns(text, lines, 3, ",") == expected


@pytest.mark.parametrize(
    "text",
    [
        'a,b"c,d\n',  # a quote inside an unquoted field
        'a,"b" ,d\n',  # something after a closing quote
        'a,"b\nc",d\n',  # a record over two lines
        "a,b,c\n\nd,e,f\n",  # a blank line
        "a,b,c\n , ,\n",  # a line of white space
        "a,b\rc,d\n",  # CR alone
        "a,b,\x00\n",  # a NUL
        "a,b\n",  # too few fields
    ],
)
def test_text_that_is_not_plain_is_left_to_the_csv_module(text: str) -> None:
    lines = [line + "\n" for line in text.split("\n")[:-1]]
    assert plain_columns(text, lines, 3, ",") is None
