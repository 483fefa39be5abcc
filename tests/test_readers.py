"""The CSV reader keeps every record with its own first line, whatever its quotes do."""

from pathlib import Path

import pytest

from caseline.ingest.readers import MAX_RECORD_LINES, read_rows


def _rows(tmp_path: Path, text: str) -> list[tuple[int, str | None, str | None]]:
    path = tmp_path / "people.csv"
    path.write_text(text, encoding="utf-8")
    return [
        (row.line, (row.values or {}).get("id"), row.problem) for row in read_rows(path, ["id"])
    ]


def test_stray_quotes_inside_unquoted_fields_are_text(tmp_path: Path) -> None:
    text = 'id,first,last\n1,5\' 10",Smith\n2,Ann,Lee\n3,Al,O"Hara\n4,Bo,Ek\n'
    assert _rows(tmp_path, text) == [(2, "1", None), (3, "2", None), (4, "3", None), (5, "4", None)]


def test_a_quote_that_never_closes_costs_its_line_only(tmp_path: Path) -> None:
    text = 'id,first,last\n1,a"b,"c\n2,Ann,Lee\n3,Jo,"Ng"\n4,Bad\n5,Ok,Row\n'
    rows = _rows(tmp_path, text)
    assert rows[0] == (2, None, "unbalanced quote: the field never closes")
    assert rows[1:] == [(3, "2", None), (4, "3", None), (5, None, "row has 2 fields, the header 3"),
                        (6, "5", None)]  # fmt: skip


def test_a_quoted_field_may_span_lines_and_the_next_record_keeps_its_line(tmp_path: Path) -> None:
    text = 'id,note\r\n1,"first\r\nsecond, still the note"\r\n2,plain\r\n'
    assert _rows(tmp_path, text) == [(2, "1", None), (4, "2", None)]


@pytest.mark.parametrize("prefix", ["\ufeff", ""])
def test_a_byte_order_mark_never_becomes_part_of_a_column_name(tmp_path: Path, prefix: str) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes((prefix + "id,name\n1,Ann\n").encode("utf-8"))
    rows = list(read_rows(path, ["id"], encoding="utf-8"))
    assert rows[0].values == {"id": "1", "name": "Ann"}


def test_a_record_longer_than_the_limit_is_taken_as_unclosed(tmp_path: Path) -> None:
    inner = "".join(f"line {i}\n" for i in range(MAX_RECORD_LINES + 5))
    rows = _rows(tmp_path, f'id,note\n1,"{inner}\n')
    assert rows[0] == (2, None, "unbalanced quote: the field never closes")


def test_utf_16_tab_separated_from_a_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "people.tsv"
    path.write_bytes("id\tname\r\n1\tZoë\r\n2\tŁukasz\r\n".encode("utf-16"))
    rows = list(read_rows(path, ["id"], encoding="utf-16"))
    assert [(r.line, r.values) for r in rows] == [
        (2, {"id": "1", "name": "Zoë"}), (3, {"id": "2", "name": "Łukasz"}),
    ]  # fmt: skip


def test_lines_ending_in_a_carriage_return_alone(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(b"id,name\r1,Ann\r2,Bob\r")
    assert [(r.line, r.values) for r in read_rows(path, ["id"])] == [
        (2, {"id": "1", "name": "Ann"}), (3, {"id": "2", "name": "Bob"}),
    ]  # fmt: skip


def test_a_needed_column_named_twice_is_refused(tmp_path: Path) -> None:
    from caseline.errors import InputError

    path = tmp_path / "people.csv"
    path.write_text("id,name,id\n1,Ann,2\n")
    with pytest.raises(InputError, match=r"named twice.*: id"):
        list(read_rows(path, ["id"]))
