"""Connected components of the links, found on the Spark cluster rather than on the driver.

Clustering takes most linked groups whole (they hold no pair against each other) and builds
only the contested ones link by link (`caseline.resolve.clustering`). The links grow with
the candidate pairs, so on Spark the components are found where the links are: each record
takes the smallest record number of its component by rounds of label propagation, and the
driver reads back, in bulk through Arrow, one label per linked record and the links and
vetoes inside the contested components only.

Each round (a few joins over the links) lets every linked record take the smallest label
among its links' ends, hands that label to those ends' own labels too (so a chain's far end
hears of it in one round), then jumps along labels twice (its label's label, and that one's:
pointer jumping): a component of any shape settles in a handful of rounds (a chain of 1,000
records in 7 or 8, the last lowering nothing) rather than one per link of its longest chain.
Labels only fall, so a round that lowers none (their sum unchanged) is the last. Each
round's labels are checkpointed on the executors (a local checkpoint: no files written)
to cut Spark's lineage, which would otherwise grow with every round; an executor lost
meanwhile fails the run rather than recomputing it.

Only SQL text and the session's own methods are used here: pyspark itself is imported by
`caseline.resolve.engine.spark` alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from caseline.resolve.clustering import UNDATED_VETO_EVIDENCE, VETO_WEIGHT, LinkComponents

MAX_ROUNDS = 64  # a component settles in about log2(its records) rounds; this is a guard
_PAIR_SCHEMA = "left_id long, right_id long"


@dataclass(frozen=True, slots=True)
class ContestedPairs:
    """What the driver reads back to cluster: every record's component and the contested
    components, and the links and vetoes (left, right, weight) inside those only."""

    components: LinkComponents
    links: pd.DataFrame
    vetoes: pd.DataFrame
    rounds: int  # of label propagation, for the record


def decisive_pairs_sql(
    predictions: str, dated: str, *, link_weight: float, prior_weight: float
) -> tuple[str, str]:
    """The links and the vetoes among Splink's scored pairs (table ``predictions``), as two
    queries of (left_id, right_id, weight): the pairs `decisive_pairs` in linking reads
    into the driver, by the same rule in the same arithmetic. A pair below `VETO_WEIGHT`
    vetoes if both its records have a date of birth (their numbers are in table ``dated``,
    column node: the scored pairs keep no compared values), or if it lies at least
    `UNDATED_VETO_EVIDENCE` below the prior (``prior_weight``). Only table names and
    floats are interpolated."""
    columns = "unique_id_l AS left_id, unique_id_r AS right_id, match_weight AS weight"
    links = f"SELECT {columns} FROM {predictions} WHERE match_weight >= {link_weight!r}"  # noqa: S608
    vetoes = (
        f"SELECT {columns} FROM {predictions} "  # noqa: S608
        f"LEFT JOIN {dated} AS dated_l ON unique_id_l = dated_l.node "
        f"LEFT JOIN {dated} AS dated_r ON unique_id_r = dated_r.node "
        f"WHERE match_weight < {link_weight!r} AND match_weight <= {VETO_WEIGHT!r} "
        "AND ((dated_l.node IS NOT NULL AND dated_r.node IS NOT NULL) "
        f"OR match_weight - {prior_weight!r} <= {UNDATED_VETO_EVIDENCE!r})"
    )
    return links, vetoes


def contested_pairs_on_spark(
    spark: Any,
    records: int,
    links_sql: str,
    vetoes_sql: str,
    must_link: pd.DataFrame,
    cannot_link: pd.DataFrame,
) -> ContestedPairs:
    """Components of the links (``links_sql``: left_id, right_id, weight, by record number
    below ``records``) and the reviewers' must-links, found on ``spark``; a component is
    contested if one of the vetoes (``vetoes_sql``), the cannot-links or the must-links
    lies inside it. Reviewers' decisions (left, right by record number) are few: they go
    to Spark as frames."""
    with _views(spark) as view:
        view("links", spark.sql(links_sql))
        view("vetoes", spark.sql(vetoes_sql))
        view("musts", _pairs_frame(spark, must_link))
        view("cannots", _pairs_frame(spark, cannot_link))
        view(
            "edges",
            spark.sql(
                f"SELECT left_id, right_id FROM {view.links} "  # noqa: S608 (own views)
                f"UNION ALL SELECT left_id, right_id FROM {view.musts}"
            ).localCheckpoint(),
        )
        labels, rounds = _propagated_labels(spark, view)
        view("labels", labels)
        view(
            "contested",
            spark.sql(
                f"SELECT DISTINCT a.label FROM ({_inside_sql(view, 'vetoes')} "  # noqa: S608
                f"UNION ALL {_inside_sql(view, 'cannots')} "
                f"UNION ALL {_inside_sql(view, 'musts')}) AS a"
            ).localCheckpoint(),
        )
        labelled = labels.toPandas()
        contested = spark.sql(f"SELECT label FROM {view.contested}").toPandas()  # noqa: S608
        inside = {name: _within_contested_sql(view, name) for name in ("links", "vetoes")}
        links = spark.sql(inside["links"]).toPandas()
        vetoes = spark.sql(inside["vetoes"]).toPandas()
    component = np.arange(records, dtype=np.int64)  # a record no link names: alone
    component[labelled["node"].to_numpy(np.int64)] = labelled["label"].to_numpy(np.int64)
    found = LinkComponents(component, np.sort(contested["label"].to_numpy(np.int64)))
    return ContestedPairs(found, _by_position(links), _by_position(vetoes), rounds)


def _propagated_labels(spark: Any, view: _Views) -> tuple[Any, int]:
    """(node, label) for every record a link or must-link names: the smallest record
    number in its component; and how many rounds that took."""
    labels = spark.sql(
        f"SELECT left_id AS node, left_id AS label FROM {view.edges} "  # noqa: S608
        f"UNION SELECT right_id, right_id FROM {view.edges}"
    ).localCheckpoint()
    total = _label_sum(labels)
    for rounds in range(1, MAX_ROUNDS + 1):
        view("labels", labels)
        lowered = spark.sql(_round_sql(view)).localCheckpoint()
        lowered_total = _label_sum(lowered)
        labels = lowered
        if lowered_total == total:
            return labels, rounds
        total = lowered_total
    raise RuntimeError(f"the link components did not settle in {MAX_ROUNDS} rounds")


def _round_sql(view: _Views) -> str:
    """One round: each link proposes its ends' smaller label to both ends and to both
    ends' labels; each record keeps the smallest proposed, then the smallest of its label's
    label and that one's label (two jumps: a chain settles in fewer rounds)."""
    return f"""
        WITH ends AS (
            SELECT e.left_id, e.right_id, a.label AS left_label, b.label AS right_label,
                   least(a.label, b.label) AS lowest
            FROM {view.edges} AS e
            JOIN {view.labels} AS a ON e.left_id = a.node
            JOIN {view.labels} AS b ON e.right_id = b.node
        ),
        proposed AS (
            SELECT node, label FROM {view.labels}
            UNION ALL SELECT left_id, lowest FROM ends
            UNION ALL SELECT right_id, lowest FROM ends
            UNION ALL SELECT left_label, lowest FROM ends
            UNION ALL SELECT right_label, lowest FROM ends
        ),
        hooked AS (SELECT node, min(label) AS label FROM proposed GROUP BY node)
        SELECT h.node, least(h.label, j.label, k.label) AS label
        FROM hooked AS h
        JOIN hooked AS j ON h.label = j.node
        JOIN hooked AS k ON j.label = k.node
    """  # noqa: S608 (own views)


def _label_sum(labels: Any) -> int:
    total = labels.selectExpr("coalesce(sum(label), 0) AS total").collect()[0]["total"]
    return int(total)


def _inside_sql(view: _Views, pairs: str) -> str:
    """The label of each component that a pair of view ``pairs`` lies inside."""
    return (
        f"SELECT a.label FROM {getattr(view, pairs)} AS p "  # noqa: S608 (own views)
        f"JOIN {view.labels} AS a ON p.left_id = a.node "
        f"JOIN {view.labels} AS b ON p.right_id = b.node WHERE a.label = b.label"
    )


def _within_contested_sql(view: _Views, pairs: str) -> str:
    """The pairs of view ``pairs`` inside a contested component (left, right, weight)."""
    return (
        "SELECT p.left_id AS left_id, p.right_id AS right_id, p.weight AS weight "  # noqa: S608
        f"FROM {getattr(view, pairs)} AS p "
        f"JOIN {view.labels} AS a ON p.left_id = a.node "
        f"JOIN {view.labels} AS b ON p.right_id = b.node "
        f"JOIN {view.contested} AS c ON a.label = c.label WHERE a.label = b.label"
    )


def _pairs_frame(spark: Any, pairs: pd.DataFrame) -> Any:
    rows = pd.DataFrame(
        {
            "left_id": pairs["left"].to_numpy(np.int64),
            "right_id": pairs["right"].to_numpy(np.int64),
        }
    )
    return spark.createDataFrame(rows, schema=_PAIR_SCHEMA)


def _by_position(pairs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "left": pairs["left_id"].to_numpy(np.int64),
            "right": pairs["right_id"].to_numpy(np.int64),
            "weight": pairs["weight"].to_numpy(float),
        }
    )


class _Views:
    """Temporary views of this call's own, named apart from any other call's: ``view(name,
    frame)`` registers one and returns the frame; ``view.name`` is its name in SQL."""

    def __init__(self, spark: Any) -> None:
        self._spark = spark
        self._prefix = f"components_{uuid.uuid4().hex[:12]}"
        self._names: set[str] = set()

    def __call__(self, name: str, frame: Any) -> Any:
        frame.createOrReplaceTempView(f"{self._prefix}_{name}")
        self._names.add(name)
        return frame

    def __getattr__(self, name: str) -> str:
        if name.startswith("_") or name not in self._names:
            raise AttributeError(name)
        return f"{self._prefix}_{name}"

    def drop(self) -> None:
        for name in self._names:
            self._spark.catalog.dropTempView(f"{self._prefix}_{name}")


@contextmanager
def _views(spark: Any) -> Iterator[_Views]:
    views = _Views(spark)
    try:
        yield views
    finally:
        views.drop()
