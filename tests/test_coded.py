"""Columns derived once per distinct value keep the value each row would get on its own."""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseline.resolve.coded import CodedColumns


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "given": ["ANA MARIA", None, "JOSE", "ANA MARIA", "X", np.nan],
            "family": ["LOPEZ", "LOPEZ", None, "PEREZ", "LOPEZ", "LOPEZ"],
        }
    )


def test_a_derived_column_is_the_function_of_each_rows_value() -> None:
    frame = _frame()
    coded = CodedColumns(frame)
    coded.derive("first", "given", lambda g: g.split()[0])
    # A function's None is missing too, and its codes are those of a column coded afresh.
    coded.derive("long_first", "first", lambda f: f if len(f) > 1 else None)
    assert frame["first"].tolist() == ["ANA", None, "JOSE", "ANA", "X", None]
    assert frame["long_first"].tolist() == ["ANA", None, "JOSE", "ANA", None, None]
    codes, distinct = coded["long_first"]
    fresh_codes, fresh_distinct = pd.factorize(frame["long_first"], use_na_sentinel=True)
    assert codes.tolist() == fresh_codes.tolist() and list(distinct) == list(fresh_distinct)


def test_a_combined_column_sees_each_combination_with_missing_values_as_none() -> None:
    frame = _frame()
    coded = CodedColumns(frame)
    coded.combine("name", ["given", "family"], lambda g, f: f"{g}|{f}")
    assert frame["name"].tolist() == [
        "ANA MARIA|LOPEZ",
        "None|LOPEZ",
        "JOSE|None",
        "ANA MARIA|PEREZ",
        "X|LOPEZ",
        "None|LOPEZ",
    ]
    codes, _distinct = coded["name"]
    assert codes[1] == codes[5] and len(set(codes.tolist())) == 5
