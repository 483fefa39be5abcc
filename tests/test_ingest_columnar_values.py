"""Column normalisers give, value for value, what the per-value normalisers give."""

from __future__ import annotations

import random

from caseline.ingest.packed_columns import pack_columns, unpack_columns
from caseline.standardise import NO_ADDRESS, InvalidValue, normalise_street, parse_address_line
from caseline.standardise.address_columns import normalise_streets, split_address_column
from caseline.standardise.columns import DistinctValues, Refused, parse_address_lines
from caseline.standardise.registry import normaliser

PIECES = [
    "12", "3321", "1A", " ", "  ", ",", ", ", ".", "#", "\t", "\n", "-", "Main", "main", "N.",
    "North", "Street", "St", "Ave", "Apt", "apt.", "Unit", "PO Box", "Springfield", "Köln",
    "Ωmega", "IL", "il", "TX", "62704", "62704-1234", "123456", "Đặng", "\u00a0", "\u2028",
    "١٢", "ß", "O'Neil", "Suite 5",
]  # fmt: skip


def _outcome(normalise, value):  # type: ignore[no-untyped-def]
    try:
        return normalise(value)
    except InvalidValue as exc:
        return ("refused", str(exc))


def _as_outcomes(results):  # type: ignore[no-untyped-def]
    return [("refused", r.reason) if isinstance(r, Refused) else r for r in results]


def _addresses(count: int, seed: int) -> list[str | None]:
    rng = random.Random(seed)
    values: list[str | None] = [None, "", "   "]
    for _ in range(count):
        street = " ".join(rng.choices(PIECES, k=rng.randint(1, 5)))
        city = " ".join(rng.choices(PIECES, k=rng.randint(1, 2)))
        state = rng.choice(["IL", "il", "TX", "I L", "Ill", "ß"])
        postcode = rng.choice(["62704", "62704-1234", "6270", "62704 ", "١٢٣٤٥"])
        form = rng.random()
        if form < 0.6:
            values.append(f"{street}, {city}, {state} {postcode}")
        elif form < 0.8:
            values.append(f" {street},{city} ,{state}  {postcode} ")
        else:
            values.append(" ".join(rng.choices(PIECES, k=rng.randint(0, 8))))
    return values


def test_a_column_of_addresses_parses_as_each_address_alone() -> None:
    values = _addresses(3_000, seed=7)
    expected = [_outcome(parse_address_line, value) for value in values]
    assert _as_outcomes(parse_address_lines(values)) == expected
    assert any(isinstance(e, tuple) for e in expected)  # refusals are among them


def test_a_mapped_address_column_falls_back_to_the_whole_line_as_the_street() -> None:
    values = _addresses(3_000, seed=8)
    any_address = normaliser("address")
    expected = [_outcome(any_address, value) for value in values]
    results, _ = DistinctValues(any_address).results(values)
    assert _as_outcomes(results) == expected


def test_an_address_column_splits_into_the_parts_of_each_address_alone() -> None:
    values = _addresses(3_000, seed=9)
    for fallback, normalise in ((False, parse_address_line), (True, normaliser("address"))):
        split = split_address_column(values, whole_line_fallback=fallback)
        refused = dict(split.refused)
        for i, value in enumerate(values):
            expected = _outcome(normalise, value)
            if isinstance(expected, tuple):
                assert refused[i] == expected[1]
                expected = NO_ADDRESS
            parts = (expected or NO_ADDRESS).parts()
            assert {name: split.parts[name][i] for name in parts} == parts, value
        assert bool(refused) is not fallback


def test_street_lines_normalise_at_once_as_each_alone() -> None:
    rng = random.Random(3)
    words = [
        "12", "3321", "1A", " ", "  ", ",", ".", "#", "-", "Main", "main", "N.", "North",
        "Street", "St", "Ave", "Apt", "apt.", "Unit", "APT5", "B-APT", "Suite", "STE", "5",
        "#4", "x#y", "O'Neil", "UNIT 7", "Apt 12B", "12A", "WEST",
    ]  # fmt: skip
    lines = [" ".join(rng.choices(words, k=rng.randint(1, 7))) for _ in range(5_000)]
    lines += ["APT", "12", "12 APT", "APT 5", "# 5", "12A B", "12 A", " , . "]
    assert normalise_streets(lines) == [normalise_street(line) for line in lines]


def test_columns_cross_the_pipe_from_the_worker_unchanged() -> None:
    columns: dict[str, list[object]] = {
        "text": ["a", "", "é", "two words"],
        "some_missing": [None, "x", None, ""],
        "all_missing": [None] * 4,
        "numbers": [1, 2, 3, 2**40],
        "mixed": [1, "a", None, 2.5],
        "holds_the_separator": ["a\x00b", "c", None, "d"],
    }
    assert unpack_columns(pack_columns(columns, 4), 4) == columns
    assert unpack_columns(pack_columns({"empty": []}, 0), 0) == {"empty": []}
