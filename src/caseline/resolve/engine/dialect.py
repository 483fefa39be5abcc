"""A model's SQL in another engine's dialect.

A model's SQL is written in one dialect: DuckDB's, unless the model names another (a model
trained on Spark and saved says "spark"). Before it runs on the other engine its SQL is
translated: identifiers quoted that engine's way, and similarity functions renamed between
DuckDB's built-ins and the names Spark knows them by (see `spark`).
"""

from __future__ import annotations

import copy
from typing import Any

import sqlglot
from sqlglot import exp

MODEL_DIALECT = "duckdb"  # the dialect of a model that does not name one, and of Caseline's SQL

# Similarity functions whose names differ: DuckDB's built-ins, the UDFs of Splink's JAR.
_FUNCTION_NAMES = {
    "spark": {
        "jaro_winkler_similarity": "jaro_winkler",
        "jaro_similarity": "jaro_sim",
        "list_intersect": "array_intersect",
        "list_has_any": "arrays_overlap",
    },
    "duckdb": {
        "jaro_winkler": "jaro_winkler_similarity",
        "jaro_sim": "jaro_similarity",
        "arrays_overlap": "list_has_any",
    },
}


def in_dialect(settings: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The Splink ``settings`` with every comparison level and blocking rule written in
    ``dialect`` (a copy: the caller's settings are left as they are).

    Splink drops a model's ``sql_dialect`` when it loads one and reads the levels' SQL as
    the engine's own: DuckDB's ``"name_l" = "name_r"`` would run on Spark as a comparison
    of two string literals, true of no pair. So the model is translated here.
    """
    source = settings.get("sql_dialect") or MODEL_DIALECT
    out = copy.deepcopy(settings)
    out["sql_dialect"] = dialect
    if source == dialect:
        return out
    for comparison in out.get("comparisons", []):
        for level in comparison["comparison_levels"]:
            if level["sql_condition"].strip().upper() != "ELSE":
                level["sql_condition"] = translate(level["sql_condition"], source, dialect)
    for rule in out.get("blocking_rules_to_generate_predictions", []):
        if isinstance(rule, dict):
            rule_dialect = rule.get("sql_dialect") or source
            rule["blocking_rule"] = translate(rule["blocking_rule"], rule_dialect, dialect)
            rule["sql_dialect"] = dialect
    return out


def translate(sql: str, source: str, dialect: str) -> str:
    """``sql`` written in the ``source`` dialect, rewritten in ``dialect``."""
    names = _FUNCTION_NAMES[dialect]

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.JarowinklerSimilarity):  # how sqlglot reads DuckDB's name
            node = exp.Anonymous(
                this="jaro_winkler_similarity", expressions=[node.this, node.expression]
            )
        if isinstance(node, exp.ArrayOverlaps):  # which sqlglot writes as '&&' for Spark
            node = exp.Anonymous(this="list_has_any", expressions=[node.this, node.expression])
        if isinstance(node, exp.Anonymous) and str(node.this).lower() in names:
            return exp.Anonymous(this=names[str(node.this).lower()], expressions=node.expressions)
        return node

    return sqlglot.parse_one(sql, read=source).transform(rename).sql(dialect=dialect)
