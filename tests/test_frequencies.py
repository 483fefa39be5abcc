"""Term frequencies that leave the pair's own records out (see resolve.frequencies)."""

import pandas as pd
import pytest

from caseline.resolve.frequencies import SCALES_KEY, frequency_scales, frequency_table, scales_of


def _model(u: float) -> dict[str, object]:
    level = {"sql_condition": "x", "tf_adjustment_column": "full_name", "u_probability": u}
    return {"comparisons": [{"comparison_levels": [{"sql_condition": "ELSE"}, level]}]}


# Ten people of two records each hold a rare name; twenty records hold a common one.
COUNTS = pd.Series({**{f"RARE {i}": 2 for i in range(10)}, "JOHN SMITH": 20})
TOTAL = 40
AGREEING = (10 * 2 * 1 + 20 * 19) / (TOTAL * (TOTAL - 1))  # pairs of records that agree


def test_the_scale_is_the_levels_u_over_the_share_of_agreeing_pairs_counting_matches() -> None:
    scales = frequency_scales(_model(u=0.01), {"full_name": COUNTS})
    assert scales == {"full_name": pytest.approx(0.01 / AGREEING)}
    # Where no pair of records is a match, u is that share, and frequencies stay counts.
    assert frequency_scales(_model(u=0.9), {"full_name": COUNTS}) == {"full_name": 1.0}


def test_a_name_only_the_pair_holds_is_rare_and_a_common_one_keeps_its_count() -> None:
    scale = 0.01 / AGREEING
    table = frequency_table("full_name", COUNTS, scale)
    share = dict(zip(table["full_name"], table["tf_full_name"], strict=True))
    # Counted over records, a name held by one person's two records looks one in twenty.
    assert share["RARE 0"] == pytest.approx(scale * 2 / TOTAL)
    assert share["RARE 0"] < 2 / TOTAL / 10
    # The common name's count less the pair's own two records.
    assert share["JOHN SMITH"] == pytest.approx((20 - 2) / TOTAL)
    # Rarer stays rarer: the adjustment still orders names by how common they are.
    assert share["RARE 0"] < share["JOHN SMITH"]


def test_a_model_saved_before_the_scales_keeps_the_plain_counts() -> None:
    assert scales_of({}) == {}
    assert scales_of({SCALES_KEY: {"full_name": 0.5}}) == {"full_name": 0.5}
    table = frequency_table("full_name", COUNTS, 1.0)
    assert list(table["tf_full_name"]) == pytest.approx(list(COUNTS / TOTAL))
