"""Properties of the mapping reader, over any mapping document, row and file.

A mapping file is refused with a ``MappingError`` naming the entry at fault, and with
nothing else; a row of any values becomes a record (a value that does not parse is left out
with an issue naming its column, never an exception); and a source file of any bytes is
read into rows or refused with an ``InputError`` naming the file and line.
"""

from __future__ import annotations

import string
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from caseline.errors import InputError, MappingError
from caseline.ingest.readers import read_rows
from caseline.sources.base import Row
from caseline.sources.mapped import FIELD_TYPES, MappedSource, SourceMapping, parse_mapping

PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12)
)
_NAMES = st.one_of(st.sampled_from(sorted(FIELD_TYPES)), st.text(max_size=12), st.integers())
_FORMATS = st.sampled_from(
    ["%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%d.%m.%Y", "%Q", "%Y-%", "", "given_first",
     "family_first", 7, ["%Y"], {"a": 1}]
)  # fmt: skip
_SPECS = st.one_of(
    _SCALARS,
    st.fixed_dictionaries(
        {"column": st.one_of(st.text(max_size=8), _SCALARS)}, optional={"format": _FORMATS}
    ),
    st.dictionaries(st.text(max_size=8), _SCALARS, max_size=3),
    st.lists(_SCALARS, max_size=3),
)
# Nearly right documents: a valid source and key, and fields with known names whose specs
# may be wrong in one way or another, so that examples reach the checks of each field.
_NEARLY_RIGHT = st.fixed_dictionaries(
    {
        "source": st.from_regex(r"\A[a-z][a-z0-9_]{0,8}\Z"),
        "key": st.one_of(st.text(min_size=1, max_size=8), st.lists(st.text(max_size=8),
                         max_size=2)),
        "fields": st.dictionaries(
            st.sampled_from(sorted(FIELD_TYPES)),
            st.one_of(st.text(max_size=8), st.fixed_dictionaries(
                {"column": st.text(max_size=8)}, optional={"format": _FORMATS})),
            min_size=1, max_size=2,
        ),
    }
)  # fmt: skip
_DOCUMENTS = st.one_of(
    _NEARLY_RIGHT,
    _SCALARS,
    st.lists(_SCALARS, max_size=3),
    st.fixed_dictionaries(
        {},
        optional={
            "source": st.one_of(st.from_regex(r"\A[a-z][a-z0-9_]{0,8}\Z"), _SCALARS),
            "key": st.one_of(st.text(max_size=8), st.lists(st.one_of(st.text(max_size=8),
                             _SCALARS), max_size=3), _SCALARS),
            "fields": st.one_of(st.dictionaries(_NAMES, _SPECS, max_size=6), _SCALARS),
            "extra": _SCALARS,
        },
    ),
)  # fmt: skip


def _assert_says_where_and_why(error: InputError, where: str) -> None:
    assert error.where is not None and error.where.startswith(where)
    assert str(error).removeprefix(f"{error.where}: ").strip()


@PROPERTY_SETTINGS
@given(document=_DOCUMENTS)
@example({"source": "a", "key": "id", "fields": {"a_number": {"column": " "}}})
@example({"source": "a", "key": "id", "fields": {"full_name": {"column": "n", "format": ["x"]}}})
def test_a_mapping_is_read_or_refused_with_where_and_why(document: object) -> None:
    try:
        mapping = parse_mapping(document, where="people.yaml")
    except MappingError as exc:
        _assert_says_where_and_why(exc, "people.yaml")
        return
    assert mapping.fields and mapping.key and set(mapping.fields) <= set(FIELD_TYPES)
    assert all(isinstance(spec.column, str) and spec.column.strip() for spec in
               mapping.fields.values())  # fmt: skip


def _every_field_mapping() -> SourceMapping:
    fields: dict[str, object] = {name: name for name in FIELD_TYPES}
    fields["date_of_birth"] = {"column": "date_of_birth", "format": "%m/%d/%Y"}
    fields["full_name"] = {"column": "full_name", "format": "family_first"}
    return parse_mapping({"source": "any", "key": "id", "fields": fields}, where="all.yaml")


MAPPING = _every_field_mapping()
_CELLS = st.one_of(
    st.text(),
    st.text(string.ascii_letters + string.digits + " -/,.'#", max_size=30),
    st.sampled_from(["", " ", "01/02/1990", "13/45/2020", "123-45-6789", "A12345678", "F",
                     "asylum granted", "citizen", "12 Main St, Springfield, IL 62704"]),
)  # fmt: skip


@PROPERTY_SETTINGS
@given(cells=st.fixed_dictionaries({c: _CELLS for c in MAPPING.columns}))
def test_any_row_becomes_a_record_with_its_bad_values_as_issues(cells: dict[str, str]) -> None:
    source = MappedSource(MAPPING)
    row = Row(cells)
    record = source.to_record(row)
    assert record.source == "any"
    assert record.source_key == ((cells["id"].strip()) if cells["id"].strip() else "")
    for issue in row.issues:
        assert issue.field in MAPPING.columns and issue.reason.strip()
        assert issue.value == cells[issue.field]


_LINES = st.lists(
    st.one_of(
        st.text(string.printable, max_size=40),
        st.sampled_from(['"open', 'a,"b""c",d', "x,y,z,w", "", "\ufeffid,name", "1,\x00"]),
    ),
    max_size=8,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    header=st.sampled_from(["id,name", "id;name", "name", "id,id,name", ""]),
    lines=_LINES,
    tail=st.binary(max_size=12),
    suffix=st.sampled_from([".csv", ".tsv", ".jsonl"]),
)
def test_a_file_of_any_bytes_is_read_or_refused_saying_where(
    tmp_path: Path, header: str, lines: list[str], tail: bytes, suffix: str
) -> None:
    path = tmp_path / f"people{suffix}"
    path.write_bytes("\n".join([header, *lines]).encode() + tail)
    try:
        rows = list(read_rows(path, required=["id", "name"]))
    except InputError as exc:
        _assert_says_where_and_why(exc, str(path))
        return
    numbers = [row.line for row in rows]
    assert numbers == sorted(numbers) and all(n >= 1 for n in numbers)
    for row in rows:
        assert (row.values is None) == (row.problem is not None)
        if row.values is not None:
            assert {"id", "name"} <= set(row.values)
