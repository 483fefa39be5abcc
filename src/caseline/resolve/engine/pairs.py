"""The SQL that makes the pairs a linker scores, in DuckDB's dialect (translated for others).

Splink's own blocking keeps a pair that two list rules make twice (it cannot tell that an
earlier list rule made it) and carries every blocking column through each list's rows;
`blocked_pairs_sql` joins only the columns each rule reads and keeps each pair once. The
full run and the incremental path both make their pairs with it, so the two agree.
"""

from __future__ import annotations

import copy
import re
from typing import Any

NEW_COLUMN = "caseline_new"  # in a batch: 1 for a record being placed, 0 for a kept one


def blocked_pairs_sql(rules: list[dict[str, Any]], table: str, *, new_only: bool = False) -> str:
    """DuckDB SQL for the pairs the model's blocking ``rules`` make among the records of
    ``table``, as Splink's table of blocked pairs (the first rule that makes a pair is its
    match key). Each rule is joined on its own, a rule over a list column with one row per
    element, and a pair that several rules make is kept once. ``new_only``: only pairs with
    a record flagged new, each rule joined twice, from the new records on either side,
    rather than over every pair of kept records and then filtered."""
    sides = ("l", "r") if new_only else ("",)
    joins = []
    for k, rule in enumerate(rules):
        rows = _rows(rule, table, new_only)
        for side in sides:
            # Only the model's own rules and column names are interpolated.
            joins.append(
                f"SELECT {k} AS k, l.unique_id AS join_key_l, r.unique_id AS join_key_r "  # noqa: S608
                f"FROM {rows} AS l JOIN {rows} AS r ON ({rule['blocking_rule']}) "
                "WHERE l.unique_id < r.unique_id"
                + (f" AND {side}.{NEW_COLUMN} = 1" if side else "")
            )
    return (
        "SELECT CAST(min(k) AS VARCHAR) AS match_key, join_key_l, join_key_r "  # noqa: S608
        f"FROM ({' UNION ALL '.join(joins)}) GROUP BY join_key_l, join_key_r"
    )


def every_pair_sql(table: str) -> str:
    """Every pair of the records of ``table``, as Splink's table of blocked pairs."""
    # Only Splink's own table name is interpolated.
    return (
        "SELECT '0' AS match_key, l.unique_id AS join_key_l, r.unique_id AS join_key_r "  # noqa: S608
        f"FROM {table} AS l JOIN {table} AS r ON l.unique_id < r.unique_id"
    )


def unscored_within_sql(members: str, predictions: str) -> str:
    """Every pair of records of one group (``members``: unique_id and group) that the
    table of ``predictions`` lacks, as Splink's table of blocked pairs."""
    # Only table names Splink made are interpolated.
    return (
        "SELECT '0' AS match_key, a.unique_id AS join_key_l, b.unique_id AS join_key_r "  # noqa: S608
        f"FROM {members} AS a JOIN {members} AS b "
        'ON a."group" = b."group" AND a.unique_id < b.unique_id '
        f"LEFT JOIN {predictions} AS p "
        "ON p.unique_id_l = a.unique_id AND p.unique_id_r = b.unique_id "
        "WHERE p.unique_id_l IS NULL"
    )


def only_pairs_with_new_records(settings: dict[str, Any]) -> dict[str, Any]:
    """The Splink ``settings`` with each blocking rule narrowed to pairs that hold a new
    record, for an engine that blocks a batch itself."""
    narrowed = copy.deepcopy(settings)
    for rule in narrowed["blocking_rules_to_generate_predictions"]:
        rule["blocking_rule"] = (
            # Unquoted: the same text reads right in DuckDB's and Spark's SQL.
            f"({rule['blocking_rule']}) AND (l.{NEW_COLUMN} = 1 OR r.{NEW_COLUMN} = 1)"
        )
    return narrowed


_COLUMN = re.compile(r"""\b[lr]\.(?:"([^"]+)"|`([^`]+)`|(\w+))""")


def _rows(rule: dict[str, Any], table: str, new_only: bool) -> str:
    """What a rule joins: the table, or for a rule over list columns, one row per element
    with only the columns the rule reads."""
    exploded = rule.get("arrays_to_explode") or []
    if not exploded:
        return table
    read = {next(g for g in m.groups() if g) for m in _COLUMN.finditer(rule["blocking_rule"])}
    kept = ["unique_id", *([NEW_COLUMN] if new_only else []), *sorted(read - set(exploded))]
    columns = [f'"{c}"' for c in kept] + [f'unnest("{c}") AS "{c}"' for c in exploded]
    return f"(SELECT {', '.join(columns)} FROM {table})"  # noqa: S608
