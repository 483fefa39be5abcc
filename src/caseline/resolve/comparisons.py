"""What the model compares, field by field, as Splink comparisons.

Each comparison is an ordered list of levels; a pair takes the first level it meets. Levels
are written with Splink's level library (or SQL in DuckDB's dialect, which Splink
translates), so the same comparisons run on DuckDB and Spark.
"""

from __future__ import annotations

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink.internals.comparison_creator import ComparisonCreator

SIMILAR = 0.88  # Jaro-Winkler similarity above which two spellings are one name mistyped
RELATIVE = "same family name, other given name"
OTHER_SUFFIX = "other suffix (Jr. and Sr.)"
# Levels whose weight is set, not learned. Random pairs of records cannot teach them: two
# strangers rarely share a family name, so "same family name, other given name" looks like
# evidence *for* a match, when the pairs that meet it are mostly siblings, twins, spouses
# and parents. A father and son differ in nothing but their suffix and date of birth.
FIXED_WEIGHTS = {("name", RELATIVE): -4.0, ("suffix", OTHER_SUFFIX): -10.0}


def _custom(sql: str, label: str) -> cll.CustomLevel:
    return cll.CustomLevel(sql, label_for_charts=label, base_dialect_str="duckdb")


GIVEN, FAMILY = ("given_first", "given_sound"), ("family_name", "family_sound")


def _alike(left: tuple[str, str], right: tuple[str, str]) -> str:
    """SQL: the left record's part ``left`` (name and sound columns) sounds like the right
    record's part ``right``, or is spelt like it with the same first letter (a typo rarely
    hits the first letter, and the test spares most pairs the similarity)."""
    (name, sound), (other, other_sound) = left, right
    return (
        f"{sound}_l = {other_sound}_r OR (substr({name}_l, 1, 1) = substr({other}_r, 1, 1) "
        f"AND jaro_winkler_similarity({name}_l, {other}_r) >= {SIMILAR})"
    )


def name_comparison() -> ComparisonCreator:
    """Given and family name together, so that one level can say how the whole name agrees.

    The order matters: a pair that is the same name written another way (other word order,
    a nickname, one of two surnames, another romanisation) ranks above one that merely looks
    alike; 'same family name, different given name' (siblings, parents, twins) has a level
    of its own, which the data teaches to count against a match.
    """
    given_alike = cll.Or(
        cll.ExactMatchLevel("given_sound"), cll.JaroWinklerLevel("given_first", SIMILAR)
    )
    family_alike = cll.Or(
        cll.ExactMatchLevel("family_key"),
        cll.ExactMatchLevel("family_sound"),
        cll.JaroWinklerLevel("family_name", SIMILAR),
    )
    # One name among the other's forms (nicknames, formal names); one family name's key among
    # the other's words (GARCIA LOPEZ ~ LOPEZ GARCIA). Tests on delimited strings: cheap.
    nickname = _custom(
        "strpos(given_forms_r, '|' || given_first_l || '|') > 0 "
        "OR strpos(given_forms_l, '|' || given_first_r || '|') > 0",
        "a nickname or formal name of the other",
    )
    same_family = _custom(
        "family_key_l = family_key_r "
        "OR strpos(family_words_r, '|' || family_key_l || '|') > 0 "
        "OR strpos(family_words_l, '|' || family_key_r || '|') > 0",
        "one of two family names",
    )
    # A cheap test that the names share a sound in some position; the list comparisons
    # after it (the costliest SQL in the model) then run only on pairs that pass it.
    share_a_sound = _custom(
        "family_sound_l = family_sound_r OR given_sound_l = given_sound_r "
        "OR given_sound_l = family_sound_r OR family_sound_l = given_sound_r",
        "names share a sound",
    )
    return cl.CustomComparison(
        output_column_name="name",
        comparison_description="given and family name",
        comparison_levels=[
            cll.Or(cll.NullLevel("given_first"), cll.NullLevel("family_name")),
            cll.ExactMatchLevel("full_name", term_frequency_adjustments=True).configure(
                label_for_charts="same name"
            ),
            cll.ExactMatchLevel("name_any_order").configure(
                label_for_charts="same words, other order"
            ),
            cll.And(same_family, nickname).configure(
                label_for_charts="nickname or one of two surnames"
            ),
            cll.And(given_alike, family_alike).configure(label_for_charts="spelt alike"),
            cll.And(family_alike, nickname).configure(
                label_for_charts="nickname, family name spelt alike"
            ),
            _custom(
                f"({_alike(GIVEN, FAMILY)}) AND ({_alike(FAMILY, GIVEN)})",
                "given and family exchanged",
            ),
            # On the words' hashes (see features.HASHED_WORD_COLUMNS): the same test, cheaper.
            cll.And(share_a_sound, cll.ArraySubsetLevel("name_word_keys")).configure(
                label_for_charts="one name's words all in the other's"
            ),
            cll.And(share_a_sound, cll.ArraySubsetLevel("name_sound_keys")).configure(
                label_for_charts="one name's words all sound like some of the other's"
            ),
            # Past "spelt alike", a pair cannot have both parts alike, so one test each says
            # which part differs.
            cll.Or(family_alike).configure(label_for_charts=RELATIVE),
            cll.Or(given_alike).configure(label_for_charts="same given name, other family name"),
            cll.ElseLevel(),
        ],
    )


def date_of_birth_comparison() -> ComparisonCreator:
    """Dates as ISO strings. A mistyped date usually keeps two of its three parts (a year
    digit, a day off by one), which a substring test finds far faster than an edit distance."""
    year, month, day = ((1, 4), (6, 2), (9, 2))

    def part_equal(start: int, length: int) -> str:
        return (
            f"substr(date_of_birth_l, {start}, {length}) = "
            f"substr(date_of_birth_r, {start}, {length})"
        )

    two_parts = " OR ".join(
        f"({part_equal(*a)} AND {part_equal(*b)})"
        for a, b in ((year, month), (year, day), (month, day))
    )
    # Two neighbouring digits typed in the wrong order across a part's edge (1933-02-12 as
    # 1933-01-22) change two parts; such a date still keeps its year or its day, the cheap
    # test that spares most pairs the edit distance.
    digits = "replace(date_of_birth_{side}, '-', '')"
    transposed = (
        f"({part_equal(*year)} OR {part_equal(*day)}) AND damerau_levenshtein("
        f"{digits.format(side='l')}, {digits.format(side='r')}) <= 1"
    )
    return cl.CustomComparison(
        output_column_name="date_of_birth",
        comparison_levels=[
            cll.NullLevel("date_of_birth"),
            cll.ExactMatchLevel("date_of_birth"),
            _custom("date_of_birth_l = dob_swapped_r", "day and month exchanged"),
            _custom(two_parts, "two of year, month and day agree"),
            _custom(transposed, "two neighbouring digits exchanged"),
            cll.ElseLevel(),
        ],
    )


def middle_name_comparison() -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="middle_name",
        comparison_levels=[
            cll.NullLevel("middle_name"),
            cll.ExactMatchLevel("middle_name"),
            _custom("substr(middle_name_l, 1, 1) = substr(middle_name_r, 1, 1)", "same initial"),
            cll.ElseLevel(),
        ],
    )


def address_comparison() -> ComparisonCreator:
    """Where the records place the person; a move makes 'other address' weak evidence only."""
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.And(cll.NullLevel("address_key"), cll.NullLevel("postcode")),
            cll.ExactMatchLevel("address_key", term_frequency_adjustments=True),
            cll.ExactMatchLevel("street_key"),
            cll.JaroWinklerLevel("address_key", 0.92).configure(
                label_for_charts="address mistyped"
            ),
            cll.ExactMatchLevel("postcode"),
            cll.ExactMatchLevel("city"),
            cll.ElseLevel(),
        ],
    )


def suffix_comparison() -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="suffix",
        comparison_levels=[
            cll.NullLevel("suffix"),
            cll.ExactMatchLevel("suffix"),
            cll.ElseLevel().configure(label_for_charts=OTHER_SUFFIX),
        ],
    )


IDENTIFIERS = (
    "ssn_hash",
    "itin_hash",
    "a_number_hash",
    "passport_hash",
    "licence_hash",
    "other_id_hash",
)


def typo_key_column(identifier: str) -> str:
    """'ssn_hash' -> 'ssn_typo_keys': the keyed hashes of the number's one-slip forms."""
    return identifier.removesuffix("_hash") + "_typo_keys"


def half_key_columns(identifier: str) -> tuple[str, str]:
    """'ssn_hash' -> the columns of the keyed hashes of the number's first and last half."""
    kind = identifier.removesuffix("_hash")
    return f"{kind}_first_half", f"{kind}_last_half"


def identifier_comparison(identifier: str) -> ComparisonCreator:
    """A number recorded twice agrees, or differs by one slip of the pen (see
    standardise.typo_keys), or belongs to someone else. Comparing two sets of keys costs
    about half a microsecond a pair, too much for every pair with two different numbers;
    numbers one slip apart share a half (standardise.half_keys), which two integers test."""
    first, last = half_key_columns(identifier)
    keys = typo_key_column(identifier)
    return cl.CustomComparison(
        output_column_name=identifier,
        comparison_levels=[
            cll.NullLevel(identifier),
            cll.ExactMatchLevel(identifier),
            _custom(
                f"({first}_l = {first}_r OR {last}_l = {last}_r) "
                f"AND list_has_any({keys}_l, {keys}_r)",
                "one character mistyped, dropped or exchanged",
            ),
            cll.ElseLevel(),
        ],
    )


def comparisons() -> list[ComparisonCreator]:
    return [
        name_comparison(),
        middle_name_comparison(),
        date_of_birth_comparison(),
        suffix_comparison(),
        cl.ExactMatch("sex"),
        *(identifier_comparison(identifier) for identifier in IDENTIFIERS),
        address_comparison(),
    ]
