"""Splink's own SQL for scoring every record of one table against every record of another,
written once per linker and kept.

`explain_pair` scores one pair and `pair_scores` many, on the cached linker of a run's model.
Asking Splink each time (``linker.inference.score_pair`` / ``score_pairs``) builds its
pipeline again: parsing the model's comparisons and writing the SQL took most of a
reviewer's page and nearly all of a link graph's. The SQL reads nothing but the two tables
and the model's settings, so here Splink writes it once per linker, over two tables of fixed
names, and each call registers its records under those names and runs the kept SQL (reduced
to the columns the caller reads, if it names them). A run's new model is a new linker, which
writes its own. The row of a single pair is kept too (`score_pair_row`), for the same
two records with the same frequencies.

The caller holds the linker's lock (`explain._Explainer.lock`): the two tables and the
connection are the linker's, one call at a time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from splink import Linker

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame

LEFT, RIGHT = "__caseline_scored_left", "__caseline_scored_right"
KEPT = 8  # (linker, columns) whose SQL is kept: a few runs' models, two readers each
KEPT_ROWS = 1_000  # scored rows of single pairs kept

# Columns: the written columns -> those to select (None: every column Splink writes).
Columns = Callable[[set[str]], list[str]] | None

_kept: OrderedDict[tuple[int, Hashable], tuple[Linker, str]] = OrderedDict()
_rows: OrderedDict[tuple[int, Hashable, str, str], tuple[Linker, dict[str, Any]]] = OrderedDict()


def score_all_pairs(
    linker: Linker,
    left: list[dict[str, Any]],
    right: list[dict[str, Any]],
    *,
    reader: Hashable,
    columns: Columns = None,
) -> SplinkDataFrame:
    """Every left record scored against every right one (the same pair twice if both lists
    hold both), as Splink's ``score_pairs`` scores them; ``reader`` names the caller, whose
    ``columns`` choose what is selected. The caller drops the table it gets."""
    register = linker.table_management.register_table
    tables = register(left, LEFT, overwrite=True), register(right, RIGHT, overwrite=True)
    table = linker.misc.query_sql(_sql(linker, reader, columns, *tables))
    # Splink remembers every query it ran (each with its SQL, 28 KB here) for its own
    # reports; a server runs one a request, for as long as it lives.
    linker._intermediate_table_cache.reset_executed_queries_tracker()
    return table


def score_pair_row(
    linker: Linker, left: dict[str, Any], right: dict[str, Any], *, reader: Hashable
) -> dict[str, Any]:
    """The scored row of one pair, every column Splink writes, as ``score_pair`` gives it;
    kept for the same two records with the same frequencies (KEPT_ROWS at most): scoring
    is a function of them and the linker's model, so a pair shown again (a reviewer's page
    reloaded, the pair opened from the queue) is not scored again."""
    key = (id(linker), reader, repr(left), repr(right))
    kept = _rows.get(key)
    if kept is not None and kept[0] is linker:
        _rows.move_to_end(key)
        return dict(kept[1])
    table = score_all_pairs(linker, [left], [right], reader=reader)
    try:
        row: dict[str, Any] = table.as_record_list()[0]
    finally:
        table.drop_table_from_database_and_remove_from_cache()
    _rows[key] = (linker, row)
    while len(_rows) > KEPT_ROWS:
        _rows.popitem(last=False)
    return dict(row)


def _sql(
    linker: Linker, reader: Hashable, columns: Columns, left: SplinkDataFrame,
    right: SplinkDataFrame,
) -> str:  # fmt: skip
    key = (id(linker), reader)
    kept = _kept.get(key)
    if kept is not None and kept[0] is linker:  # not another linker at a reused address
        _kept.move_to_end(key)
        return kept[1]
    written = linker.inference.score_pairs(left, right)
    full = written.sql_used_to_create
    names = {column.unquote().name for column in written.columns}
    written.drop_table_from_database_and_remove_from_cache()
    chosen = "*" if columns is None else ", ".join(_quoted(c) for c in columns(names))
    # The columns are Splink's own names, quoted; the rest is Splink's own SQL.
    sql = f"select {chosen} from ({full}) as scored"  # noqa: S608
    _kept[key] = (linker, sql)
    while len(_kept) > KEPT:
        _kept.popitem(last=False)
    return sql


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'
