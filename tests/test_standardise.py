import datetime as dt

import pytest

from caseline.standardise import (
    InvalidValue,
    clean_name,
    clean_ssn,
    clean_tin,
    half_keys,
    keyed_hash,
    normalise_street,
    parse_address_line,
    parse_date,
    parse_date_of_birth,
    split_full_name,
    typo_keys,
)
from caseline.standardise.address_columns import split_address_column


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("José", "JOSE"),
        ("  o'neil-smith ", "ONEIL-SMITH"),
        ("Müller  Schmidt", "MULLER SCHMIDT"),
        ("", None),
        (None, None),
    ],
)
def test_clean_name_transliterates_and_uppercases(raw: str | None, expected: str | None) -> None:
    assert clean_name(raw) == expected


def test_clean_name_refuses_a_value_with_no_letters() -> None:
    with pytest.raises(InvalidValue, match="no letters"):
        clean_name("1234")


@pytest.mark.parametrize(
    ("raw", "given", "middle", "family", "suffix"),
    [
        ("LOPEZ, MARIA J", "MARIA", "J", "LOPEZ", None),
        ("Maria Lopez", "MARIA", None, "LOPEZ", None),
        ("John Paul Smith Jr.", "JOHN", "PAUL", "SMITH", "JR"),
        ("SMITH JR, JOHN", "JOHN", None, "SMITH", "JR"),
        ("Cher", "CHER", None, None, None),
    ],
)
def test_split_full_name_handles_both_orders_and_suffixes(
    raw: str, given: str, middle: str | None, family: str | None, suffix: str | None
) -> None:
    parsed = split_full_name(raw)
    assert (parsed.given, parsed.middle, parsed.family, parsed.suffix) == (
        given,
        middle,
        family,
        suffix,
    )


def test_parse_date_refuses_an_impossible_date_with_the_reason() -> None:
    with pytest.raises(InvalidValue, match="2023-02-30"):
        parse_date("2023-02-30")


def test_parse_date_of_birth_refuses_the_future() -> None:
    with pytest.raises(InvalidValue, match="in the future"):
        parse_date_of_birth("2030-01-01", today=dt.date(2026, 1, 1))


def test_parse_date_reads_us_format() -> None:
    assert parse_date("02/03/1990", "%m/%d/%Y") == dt.date(1990, 2, 3)


def test_street_variants_normalise_to_one_form() -> None:
    assert normalise_street("12 N. Main St Apt 3") == normalise_street("12 North Main Street #3")
    assert normalise_street("12 N. Main St Apt 3") == ("12", "N MAIN ST", "3")


def test_parse_address_line_splits_the_parts() -> None:
    address = parse_address_line("500 Oak Avenue Suite 2, Springfield, IL 62704")
    assert (address.street_number, address.street, address.unit) == ("500", "OAK AVE", "2")
    assert (address.city, address.state, address.postcode) == ("SPRINGFIELD", "IL", "62704")


def test_parse_address_line_refuses_what_has_no_street() -> None:
    with pytest.raises(InvalidValue, match="no street"):
        parse_address_line("Springfield IL 62704")


@pytest.mark.parametrize(
    "bad", ["666-12-3456", "000-12-3456", "912-12-3456", "123-00-4567", "12-345-678", "123 456 789"]
)
def test_clean_ssn_refuses_numbers_never_issued(bad: str) -> None:
    with pytest.raises(InvalidValue):
        clean_ssn(bad)


@pytest.mark.parametrize("separator", ["-", " ", ".", ""])
def test_taxpayer_numbers_are_read_with_any_usual_separator(separator: str) -> None:
    assert clean_ssn(separator.join(["123", "45", "6789"])) == "123456789"
    assert clean_tin(separator.join(["123", "45", "6789"])) == ("ssn", "123456789")
    assert clean_tin(separator.join(["912", "70", "1234"])) == ("itin", "912701234")


@pytest.mark.parametrize(
    "slip",
    ["123456780", "123465789", "12345678", "1234456789", "123456789"],
    ids=["digit mistyped", "neighbours exchanged", "digit dropped", "digit doubled", "same"],
)
def test_typo_keys_meet_across_one_slip_of_the_pen(slip: str) -> None:
    assert set(typo_keys("ssn", "123456789", b"k1")) & set(typo_keys("ssn", slip, b"k1"))
    # and share a half key, the quick test that comes first
    assert set(half_keys("ssn", "123456789", b"k1")) & set(half_keys("ssn", slip, b"k1"))


def test_half_keys_tell_most_other_numbers_apart() -> None:
    first, last = half_keys("ssn", "123456789", b"k1")
    assert half_keys("ssn", "123000789", b"k1") == (first, last)  # the halves only
    assert half_keys("ssn", "987654321", b"k1")[0] != first
    assert half_keys("ssn", "987654321", b"k1")[1] != last


def test_typo_keys_keep_other_numbers_kinds_and_keys_apart() -> None:
    keys = set(typo_keys("ssn", "123456789", b"k1"))
    assert len(keys) == 10  # the number and its nine forms with a digit left out
    assert not keys & set(typo_keys("ssn", "123456711", b"k1"))  # two digits mistyped
    assert not keys & set(typo_keys("ssn", "987654321", b"k1"))
    assert not keys & set(typo_keys("a_number", "123456789", b"k1"))
    assert not keys & set(typo_keys("ssn", "123456789", b"k2"))
    assert all(0 <= key < 2**40 for key in keys)


def test_keyed_hash_matches_equal_values_and_depends_on_the_key() -> None:
    ssn = clean_ssn("123-45-6789")
    assert ssn == "123456789"
    assert keyed_hash("ssn", ssn, b"k1") == keyed_hash("ssn", ssn, b"k1")
    assert keyed_hash("ssn", ssn, b"k1") != keyed_hash("ssn", ssn, b"k2")
    assert ssn not in keyed_hash("ssn", ssn, b"k1")


def test_nicknames_and_formal_names_share_equivalents() -> None:
    from caseline.standardise import given_name_equivalents

    assert given_name_equivalents("BILL") & given_name_equivalents("WILLIAM")
    assert given_name_equivalents("PEGGY") & given_name_equivalents("MARGARET")
    assert not given_name_equivalents("MARIA") & given_name_equivalents("JOSE")
    assert given_name_equivalents(None) == frozenset()


@pytest.mark.parametrize(
    ("family", "key"),
    [("GARCIA LOPEZ", "GARCIA"), ("GARCIA-LOPEZ", "GARCIA"), ("EL AMRANI", "AMRANI"),
     ("AL-AMRANI", "AMRANI"), ("DE LA CRUZ", "CRUZ"), ("VAN DER BERG", "BERG"),
     ("NGUYEN", "NGUYEN")],
)  # fmt: skip
def test_compound_surnames_share_a_key(family: str, key: str) -> None:
    from caseline.standardise import family_name_key

    assert family_name_key(family) == key


def test_every_mapped_field_has_a_registered_value_type() -> None:
    from caseline.sources.mapped import FIELD_TYPES
    from caseline.standardise.registry import VALUE_TYPES, normaliser

    assert set(FIELD_TYPES.values()) <= set(VALUE_TYPES)
    assert normaliser("birth_date", "%Y%m%d")("19560409") == dt.date(1956, 4, 9)
    assert normaliser("identifier")("180 49-74") == "1804974"
    assert normaliser("address")("Calle Mayor 5") is not None  # a foreign line is kept as a street


@pytest.mark.parametrize(
    "line",
    ["12 N. Main Street Apt 3, Springfield, IL 62704", "12 North Main St #3 Springfield IL 62704",
     "12 n main st apt 3 springfield il 62704-1234"],
)  # fmt: skip
def test_one_line_addresses_with_or_without_commas_parse_alike(line: str) -> None:
    address = parse_address_line(line)
    assert (address.street_number, address.street, address.unit) == ("12", "N MAIN ST", "3")
    assert (address.city, address.state, address.postcode) == ("SPRINGFIELD", "IL", "62704")


@pytest.mark.parametrize(
    ("line", "expected"),
    [("1 Day Neck APT14, Newport RI 02882", ("1", "DAY NECK", "14", "NEWPORT", "02882")),
     ("231 Megan Run AP T18, Newport RI 02882", ("231", "MEGAN RUN", "18", "NEWPORT", "02882")),
     ("1790 Rowe Forge, Port Aaron RI 02882", ("1790", "ROWE FORGE", None, "PORT AARON", "02882")),
     ("18 Short Forks #25, Emily RI 02882", ("18", "SHORT FORKS", "25", "EMILY", "02882")),
     ("1707 Ian Springs, Newport RI", ("1707", "IAN SPRINGS", None, "NEWPORT", None)),
     ("12 Stevens, Newport RI 02882", ("12", "STEVENS", None, "NEWPORT", "02882"))],
)  # fmt: skip
def test_units_typed_glued_or_broken_and_lines_short_of_a_comma_or_zip_parse(
    line: str, expected: tuple[str | None, ...]
) -> None:
    """As clerks type them; the column path (ingest) reads each as the row path does."""
    address = parse_address_line(line)
    parts = (address.street_number, address.street, address.unit, address.city, address.postcode)
    assert parts == expected
    columns = split_address_column([line]).parts
    assert tuple(columns[name][0] for name in ("street_number", "street", "unit", "city",
                                              "postcode")) == expected  # fmt: skip


def test_a_po_box_is_an_address() -> None:
    address = parse_address_line("PO Box 123, Austin TX 78701")
    assert (address.street, address.city, address.postcode) == ("PO BOX 123", "AUSTIN", "78701")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Đặng", "DANG"), ("Nguyễn Văn Đức", "NGUYEN VAN DUC"), ("Łukasz", "LUKASZ"),
     ("Strauß", "STRAUSS"), ("Иванов", "IVANOV")],
)  # fmt: skip
def test_letters_without_a_decomposition_are_transliterated_not_dropped(
    raw: str, expected: str
) -> None:
    assert clean_name(raw) == expected


@pytest.mark.parametrize(("raw", "sex"), [("M", "M"), ("female", "F"), ("Woman", "F"), ("x", "X")])
def test_sex_from_its_usual_spellings(raw: str, sex: str) -> None:
    from caseline.standardise.codes import clean_sex

    assert clean_sex(raw) == sex


@pytest.mark.parametrize("raw", ["Miss", "Mrs.", "unknown"])
def test_titles_are_not_a_sex(raw: str) -> None:
    from caseline.standardise.codes import clean_sex

    with pytest.raises(InvalidValue):
        clean_sex(raw)
