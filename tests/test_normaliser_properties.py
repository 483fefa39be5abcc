"""Properties of every normaliser, over any text a file may hold.

Two promises hold for each value type in the registry: a normaliser raises nothing but
``InvalidValue`` (which ingest keeps as a value issue), and normalising is idempotent: the
normalised value written back as a file would hold it normalises to itself. The column-at-a-
time address splitters promise the per-value parser's parts exactly; that is checked too.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from caseline.standardise import Address, ParsedName, StatusTerm
from caseline.standardise.address_columns import PARTS, split_address_column
from caseline.standardise.addresses import _ONE_LINE, parse_address_line
from caseline.standardise.columns import Refused, parse_address_lines
from caseline.standardise.registry import VALUE_TYPES, normaliser
from caseline.standardise.values import InvalidValue

PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Text as files hold it: any character (controls, NUL, other scripts, emoji), and the shapes
# the normalisers look for, so that examples reach past the first refusal.
_WORDS = st.text(string.ascii_letters + " -'.,", min_size=1, max_size=20)
_DIGITS = st.text(string.digits + " -.", min_size=1, max_size=14)
_STREET_WORDS = st.sampled_from(
    ["Main", "Street", "St.", "AVENUE", "Apt", "#", "N", "north", "Suite", "Unit", "PO", "Box",
     "Rd", "12B", "Ste", "AP T14", "Oak", "Elm", "Drive", "Ln"]
)  # fmt: skip
_ADDRESS_LIKE = st.builds(
    lambda number, words, city, state, zip_code, sep: (
        f"{number} {' '.join(words)}{sep}{city}{sep}{state} {zip_code}"
    ),
    st.integers(0, 99999).map(str),
    st.lists(_STREET_WORDS, min_size=1, max_size=5),
    st.sampled_from(["Springfield", "San Jose", "ST LOUIS", "Ann Arbor", "x"]),
    st.sampled_from(["IL", "CA", "ny", "Tx", "ZZ", "I1"]),
    st.sampled_from(["62704", "12345-6789", "1234", "", "ABCDE"]),
    st.sampled_from([", ", " ", ",", " , "]),
)
_DATE_LIKE = st.one_of(
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(dt.date.isoformat),
    st.from_regex(r"\A\d{4}-\d{2}-\d{2}\Z"),
)
ANY_TEXT = st.one_of(
    st.none(), st.text(), _WORDS, _DIGITS, _ADDRESS_LIKE, _DATE_LIKE,
    st.sampled_from(["", " ", "\x00", "\ufeff", "Đặng", "Иванов", "O'Neil-Smith, José Jr.",
                     "A-12345678", "900-70-1234", "Female", "removal order", "9999-12-31"]),
)  # fmt: skip


def _written(value: Any, type_name: str) -> str | None:
    """A normalised value as a file would hold it again."""
    if value is None:
        return None
    if type_name in ("date", "birth_date"):
        return str(value.isoformat())
    if type_name == "tin":
        return str(value[1])
    if type_name == "status":
        return str(value.value)
    if type_name == "full_name":
        return _written_name(value)
    if type_name == "address":
        return _written_address(value)
    return str(value)


def _written_name(name: ParsedName) -> str | None:
    """'FAMILY, GIVEN MIDDLE SUFFIX', the form every source's full name can be read back from."""
    rest = " ".join(filter(None, (name.given, name.middle, name.suffix)))
    return f"{name.family or ''}, {rest}" if name.family or rest else None


def _written_address(address: Address) -> str | None:
    street = " ".join(filter(None, (address.street_number, address.street)))
    if address.unit:
        street += f" APT {address.unit}"
    place = " ".join(filter(None, (address.state, address.postcode)))
    return ", ".join(filter(None, (street, address.city, place))) or None


def _normalised(normalise: Callable[[str | None], Any], value: str | None) -> Any:
    try:
        return normalise(value)
    except InvalidValue:
        return InvalidValue


@pytest.mark.parametrize("type_name", sorted(VALUE_TYPES))
@PROPERTY_SETTINGS
@given(value=ANY_TEXT)
def test_a_normaliser_refuses_only_with_a_reason(type_name: str, value: str | None) -> None:
    normalise = normaliser(type_name)
    try:
        normalise(value)
    except InvalidValue as exc:
        reason = str(exc)
    else:
        return
    assert reason.strip(), f"{type_name} refused {value!r} without saying why"


# The address type keeps a foreign line whole as its street, which a second reading may split
# differently; its idempotence is that of the parts, checked below.
IDEMPOTENT_TYPES = sorted(set(VALUE_TYPES) - {"address"})


@pytest.mark.parametrize("type_name", IDEMPOTENT_TYPES)
@PROPERTY_SETTINGS
@given(value=ANY_TEXT)
def test_normalising_twice_changes_nothing(type_name: str, value: str | None) -> None:
    normalise = normaliser(type_name)
    once = _normalised(normalise, value)
    if once is InvalidValue:
        return
    again = _normalised(normalise, _written(once, type_name))
    assert again == once, f"{type_name}: {value!r} -> {once!r} -> {again!r}"


@PROPERTY_SETTINGS
@given(value=st.one_of(_ADDRESS_LIKE, st.text(), st.none()))
@example("12 Main Street Apt 3, Springfield, IL 62704")
def test_an_address_read_back_from_its_parts_is_the_same_address(value: str | None) -> None:
    normalise = normaliser("address")
    once = _normalised(normalise, value)
    if once is InvalidValue or once is None or once.city is None or once.state is None:
        return  # only a line with its city and state is written back in the one-line form
    written = _written_address(once)
    if written is None or _ONE_LINE.match(written) is None:
        return  # off the 'street, city, ST 12345' form the trained parser guesses afresh
    again = _normalised(normalise, written)
    assert again == once, f"{value!r} -> {once!r} -> {again!r}"


@PROPERTY_SETTINGS
@given(values=st.lists(st.one_of(_ADDRESS_LIKE, st.text(), st.none()), max_size=12))
def test_addresses_split_a_column_at_a_time_as_they_do_one_by_one(
    values: list[str | None],
) -> None:
    parse = normaliser("address")
    one_by_one = [_normalised(parse_address_line, v) for v in values]
    by_column = parse_address_lines(values)
    for value, single, column in zip(values, one_by_one, by_column, strict=True):
        if single is InvalidValue:
            assert isinstance(column, Refused), value
        else:
            assert column == single, value
    split = split_address_column(values, whole_line_fallback=True)
    refused_rows = {row for row, _ in split.refused}
    for row, value in enumerate(values):
        expected = _normalised(parse, value)
        if expected is InvalidValue:
            assert row in refused_rows, value
            continue
        parts = (expected or Address(None, None, None, None, None, None)).parts()
        assert {p: split.parts[p][row] for p in PARTS} == parts, value


@PROPERTY_SETTINGS
@given(term=st.sampled_from([t for t in StatusTerm if t is not StatusTerm.UNCLEAR]))
def test_every_status_term_reads_back_from_its_own_name(term: StatusTerm) -> None:
    assert normaliser("status")(term.value.replace("_", " ").upper()) is term
