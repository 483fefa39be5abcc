"""Blocking rule sets side by side: how many pairs each generates and which true pairs.

    .venv/bin/python benchmarks/blocking_alternatives.py --world /tmp/w20 \\
        --frame /tmp/w20work-base/ee2fe1a6014ab7c0/records.parquet

``--world`` is a generated world (its truth.csv says which records are one person) and
``--frame`` the model frame that benchmarks/resolution.py saves for it under its work dir
(``WORK/<digest of truth.csv>/records.parquet``); run resolution.py first to have one.

Measures two rule sets on the same records:

- current: Caseline's ``PREDICTION_RULES`` (caseline.resolve.blocking), read from the code,
  with a crossed rule run both ways round and only the rules whose columns the records fill,
  as Splink runs them;
- REC2: the set a blocking analysis recommended to reach about 98% of the true pairs
  directly. Its rules share a name sound with a date of birth, a swapped date, an address
  or a postcode, add a date of birth's month and day, cap the crossed given/family rule to
  rare names, and pair records of which one has no date of birth when they share a rare
  name key (a pair of name-word sounds, or a one-letter deletion or a form of one name).

Each rule's pairs are counted with a DuckDB self-join on its keys, a list column exploded
into one row per element, rather than through Splink, so a set Splink cannot yet express
(REC2 joins on list elements) is measured the same way as the current one. Prints each
rule's pairs and, per set, the pairs of the union, their ratio to the current set's, the
share of true pairs generated (direct pair recall) and the share whose two records are
connected through generated true pairs (reachable recall, as resolution.py measures it);
the last line is one JSON object with every figure. DuckDB is held to 4 GB on 2 threads and
spills to a temporary folder, so a million records fit beside other work.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from caseline.resolve.blocking import PREDICTION_RULES
from caseline.resolve.blocking import Rule as CaselineRule
from caseline.resolve.features import add_features
from caseline.resolve.records import present_columns
from resolution import recall_figures, truth_table

console = Console(highlight=False, soft_wrap=True)

# The SQL below interpolates only this file's table and column names and integers (S608).
DUCKDB_MEMORY_LIMIT = "4GB"
DUCKDB_THREADS = 2

# REC2's frequency caps, counted over all records: a key held by more records is dropped,
# so a capped rule yields at most (keys per record x cap) pairs per record however many
# records there are.
SOUND_PAIR_CAP = 50  # a pair of name-word sounds, for records without a date of birth
NAME_VARIANT_CAP = 100  # a typo or nickname variant of a name, likewise
CROSSED_CAP = 50  # given and family exchanged: kept if either way round is this rare

UNDATED = "l.date_of_birth IS NULL OR r.date_of_birth IS NULL"

Ways = tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class CountedRule:
    """A rule as counted here: two records pair when, for one of the ``ways`` round, each
    left column of one equals the right column of the other, they share an element of the
    list column ``shared_list`` (if any) and ``sql_filter`` holds (over ``filter_columns``)."""

    label: str
    ways: Ways
    shared_list: str | None = None
    sql_filter: str = ""
    filter_columns: tuple[str, ...] = ()

    @property
    def needs(self) -> set[str]:
        columns = {c for left, right in self.ways for c in (*left, *right)}
        listed = {self.shared_list} if self.shared_list else set()
        return columns | set(self.filter_columns) | listed


def current_rule(rule: CaselineRule) -> CountedRule:
    """Caseline's rule with one way round per Splink rule it makes (see Rule.splink_rules)."""
    distinct: dict[frozenset[tuple[str, str]], tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for left, right in rule.keys:
        distinct.setdefault(frozenset(zip(left, right, strict=True)), (left, right))
    ways = tuple(distinct.values())
    left, right = ways[0]
    label = " + ".join(left) if left == right else " + ".join(left) + " = " + " + ".join(right)
    if len(ways) > 1:
        label += ", either way round"
    return CountedRule(label, ways, sql_filter=rule.sql_filter)


def current_rules(present: set[str]) -> list[CountedRule]:
    return [current_rule(rule) for rule in PREDICTION_RULES if rule.needs <= present]


def _same(*columns: str) -> Ways:
    return ((columns, columns),)


def _either_way(left: str, right: str) -> Ways:
    return (((left,), (right,)), ((right,), (left,)))


REC2_RULES: tuple[CountedRule, ...] = (
    *(
        CountedRule(column, _same(column))
        for column in ("ssn_hash", "itin_hash", "a_number_hash", "passport_hash", "licence_hash")
    ),
    CountedRule("date_of_birth + a shared name sound", _same("date_of_birth"), "name_sounds"),
    CountedRule(
        "date_of_birth = dob_swapped + a shared name sound, either way round",
        _either_way("date_of_birth", "dob_swapped"),
        "name_sounds",
    ),
    CountedRule(
        "given_sound + family_sound + dob_year", _same("given_sound", "family_sound", "dob_year")
    ),
    CountedRule(
        "given_sound + family_sound + dob_month_day",
        _same("given_sound", "family_sound", "dob_month_day"),
    ),
    CountedRule("postcode + a shared name key", _same("postcode"), "postcode_name_keys"),
    CountedRule("address_key + a shared name sound", _same("address_key"), "name_sounds"),
    CountedRule("date_of_birth + postcode", _same("date_of_birth", "postcode")),
    CountedRule(
        f"given/family exchanged, held by <= {CROSSED_CAP}, either way round",
        _either_way("name_fwd_rare", "name_rev"),
    ),
    CountedRule(
        "undated: a shared rare name key",
        (),
        "rare_name_keys",
        sql_filter=UNDATED,
        filter_columns=("date_of_birth",),
    ),
)


# --- REC2's derived keys ------------------------------------------------------------------


def one_letter_deletions(word: str) -> set[str]:
    """The word and each one-letter deletion of it: two words one edit apart share one."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def name_keys(
    sounds: tuple[str, ...] | None,
    given_sound: str | None,
    family_sound: str | None,
    given_first: str | None,
    family_key: str | None,
    given_forms: str | None,
) -> list[str]:
    """A name's keys, each prefixed by its kind, so that kinds are capped apart:
    P: a pair of the name's word sounds (whatever the word order or the given/family split);
    F: a form of the given name (BILL, WILLIAM) and the family sound;
    D: the given sound and the family key or a one-letter deletion of it;
    G: the family sound and the first given word or a one-letter deletion of it."""
    keys = [f"P:{a}+{b}" for a, b in combinations(sorted(set(sounds or ())), 2)]
    if family_sound and given_forms:
        keys += [f"F:{form}#{family_sound}" for form in given_forms.strip("|").split("|")]
    if given_sound and family_key:
        keys += [f"D:{given_sound}#{v}" for v in sorted(one_letter_deletions(family_key))]
    if family_sound and given_first:
        keys += [f"G:{family_sound}#{v}" for v in sorted(one_letter_deletions(given_first))]
    return keys


def rec2_keys(features: pd.DataFrame) -> pd.DataFrame:
    """The columns REC2 blocks on besides the features: name-key lists (postcode_name_keys
    uncapped, rare_name_keys capped), the crossed rule's rare-side key and dob_month_day."""
    name_columns = [
        "name_sounds",
        "given_sound",
        "family_sound",
        "given_first",
        "family_key",
        "given_forms",
    ]
    names = list(zip(*(features[c] for c in name_columns), strict=True))
    # Keys depend on the name only, and a million records hold far fewer distinct names.
    records_per_name = Counter(names)
    keys_of = {name: name_keys(*name) for name in records_per_name}
    holders: Counter[str] = Counter()
    for name, records in records_per_name.items():
        for key in keys_of[name]:
            holders[key] += records
    cap = {"P": SOUND_PAIR_CAP, "F": NAME_VARIANT_CAP, "D": NAME_VARIANT_CAP, "G": NAME_VARIANT_CAP}
    rare_of = {
        name: [k for k in keys if holders[k] <= cap[k[0]]] or None for name, keys in keys_of.items()
    }
    postcode_of = {
        name: [k for k in keys if k[0] in "PFD"] or None for name, keys in keys_of.items()
    }
    # Exchanged names pair x (A, B) with y (B, A) when either is rare; the key sits only on
    # the rare side, and the rule is run both ways round.
    forward = features["given_sound"] + "+" + features["family_sound"]
    return pd.DataFrame(
        {
            "postcode_name_keys": [postcode_of[name] for name in names],
            "rare_name_keys": [rare_of[name] for name in names],
            "dob_month_day": features["date_of_birth"].str[5:],
            "name_fwd_rare": forward.where(forward.map(forward.value_counts()) <= CROSSED_CAP),
            "name_rev": features["family_sound"] + "+" + features["given_sound"],
        },
        index=features.index,
    )


# --- counting pairs -----------------------------------------------------------------------


def load_records(
    con: duckdb.DuckDBPyConnection, world: Path, frame_path: Path
) -> tuple[int, set[str]]:
    """Table ``records``: a dense ``id``, the true ``entity`` (null for a record the truth
    does not list) and every column the rules read. Returns the records and the columns
    filled in enough of them for Caseline to block on."""
    frame = pd.read_parquet(frame_path)
    truth = truth_table(world / "truth.csv", frame["unique_id"])
    entity_codes = pd.Series(pd.factorize(truth["entity_id"])[0], index=truth["record_id"])
    features = add_features(frame)
    del frame
    present = present_columns(features)
    derived = rec2_keys(features)
    columns = sorted({c for rule in (*current_rules(present), *REC2_RULES) for c in rule.needs})
    arrays = {
        "id": pa.array(np.arange(len(features), dtype=np.int64)),
        "entity": pa.array(features["unique_id"].map(entity_codes).astype("Int64")),
    }
    for column in columns:
        kind = pa.list_(pa.string()) if column.endswith(("_sounds", "_keys")) else pa.string()
        values = derived[column] if column in derived else features[column]
        if kind != pa.string():
            values = [list(v) if v is not None else None for v in values]
        arrays[column] = pa.array(values, type=kind, from_pandas=True)
    del features, derived
    table = pa.table(arrays)
    del arrays
    con.register("records_arrow", table)
    con.execute("CREATE TABLE records AS SELECT * FROM records_arrow")
    con.unregister("records_arrow")
    return table.num_rows, present


def count_rule(con: duckdb.DuckDBPyConnection, rule: CountedRule, table: str, n: int) -> int:
    """Table ``table``: the rule's distinct pairs as one integer (lower id x n + higher id)."""
    source = "records"
    # Splink pairs a record only with records of a higher id, each way round its own rule.
    conditions = ["l.id < r.id"]
    if rule.shared_list:
        # Only the columns the rule reads: exploded rows are many (about 20 per record).
        columns = ["id", *sorted(rule.needs - {rule.shared_list})]
        con.execute(
            "CREATE TEMP TABLE exploded AS "  # noqa: S608
            f"SELECT {', '.join(columns)}, unnest({rule.shared_list}) AS shared FROM records "
            f"WHERE {rule.shared_list} IS NOT NULL"
        )
        source = "exploded"
        conditions.append("l.shared = r.shared")
    if rule.sql_filter:
        conditions.append(f"({rule.sql_filter})")
    selects = [
        f"SELECT l.id * {n} + r.id AS pair FROM {source} AS l JOIN {source} AS r "  # noqa: S608
        "ON " + " AND ".join(conditions + [f"l.{a} = r.{b}" for a, b in zip(*way, strict=True)])
        for way in rule.ways or (((), ()),)
    ]
    union = " UNION ALL ".join(selects)
    con.execute(f"CREATE TABLE {table} AS SELECT DISTINCT pair FROM ({union})")  # noqa: S608
    if rule.shared_list:
        con.execute("DROP TABLE exploded")
    return count(con, table)


def count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    return int(row[0]) if row else 0


def measure_set(
    con: duckdb.DuckDBPyConnection, name: str, rules: Iterable[CountedRule], n: int
) -> dict[str, Any]:
    """Each rule's pairs, the union's, and the true pairs the union generates or reaches."""
    start = time.perf_counter()
    per_rule = []
    tables = []
    for i, rule in enumerate(rules):
        table = f"rule_pairs_{i}"
        per_rule.append({"rule": rule.label, "pairs": count_rule(con, rule, table, n)})
        tables.append(table)
        console.print(f"  {name}: {rule.label}: {per_rule[-1]['pairs']:,} pairs")
    union = " UNION ALL ".join(f"SELECT pair FROM {t}" for t in tables)  # noqa: S608
    con.execute(f"CREATE TABLE set_pairs AS SELECT DISTINCT pair FROM ({union})")  # noqa: S608
    for table in tables:
        con.execute(f"DROP TABLE {table}")
    true_pairs = count(con, "true_pairs")
    generated = con.execute(
        "SELECT pair FROM true_pairs WHERE pair IN (SELECT pair FROM set_pairs)"
    ).fetchnumpy()["pair"]
    pairs = count(con, "set_pairs")
    con.execute("DROP TABLE set_pairs")
    return {
        "rules": len(per_rule),
        "pairs": pairs,
        **recall_figures(true_pairs, n, generated // n, generated % n),
        "seconds": time.perf_counter() - start,
        "per_rule": per_rule,
    }


# --- main ---------------------------------------------------------------------------------


def print_tables(sets: dict[str, dict[str, Any]]) -> None:
    for name, figures in sets.items():
        rules = Table(title=f"{name}: pairs per rule")
        rules.add_column("rule")
        rules.add_column("pairs", justify="right")
        for row in figures["per_rule"]:
            rules.add_row(row["rule"], f"{row['pairs']:,}")
        console.print(rules)
    summary = Table(title="Rule sets")
    for heading in ("rule set", "rules", "pairs", "x current", "pair recall", "reachable recall"):
        summary.add_column(heading, justify="left" if heading == "rule set" else "right")
    for name, figures in sets.items():
        summary.add_row(
            name,
            str(figures["rules"]),
            f"{figures['pairs']:,}",
            f"{figures['ratio_to_current']:.2f}",
            f"{figures['pair_recall']:.2%}",
            f"{figures['reachable_recall']:.2%}",
        )
    console.print(summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, required=True, help="world folder with truth.csv")
    parser.add_argument("--frame", type=Path, required=True, help="resolution.py's records.parquet")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="caseline-blocking-") as spill:
        con = duckdb.connect()
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        con.execute(f"SET threads = {DUCKDB_THREADS}")
        con.execute(f"SET temp_directory = '{spill}'")
        con.execute("SET preserve_insertion_order = false")
        n, present = load_records(con, args.world, args.frame)
        console.print(f"{n:,} records loaded in {time.perf_counter() - start:.0f} s")
        con.execute(
            f"CREATE TABLE true_pairs AS SELECT l.id * {n} + r.id AS pair "  # noqa: S608
            "FROM records AS l JOIN records AS r ON l.entity = r.entity AND l.id < r.id"
        )
        sets = {
            "current": measure_set(con, "current", current_rules(present), n),
            "REC2": measure_set(con, "REC2", REC2_RULES, n),
        }
        con.close()
    for figures in sets.values():
        figures["ratio_to_current"] = figures["pairs"] / sets["current"]["pairs"]
    console.print(
        f"\n{n:,} records, {sets['current']['true_pairs']:,} true pairs; "
        f"{time.perf_counter() - start:.0f} s in all"
    )
    print_tables(sets)
    print(
        json.dumps(
            {
                "world": str(args.world),
                "frame": str(args.frame),
                "records": n,
                "caps": {
                    "sound_pair": SOUND_PAIR_CAP,
                    "name_variant": NAME_VARIANT_CAP,
                    "crossed": CROSSED_CAP,
                },
                "sets": sets,
            }
        )
    )


if __name__ == "__main__":
    main()
