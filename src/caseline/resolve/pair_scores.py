"""Many pairs of records scored at once, as `explain.explain_pair` scores one.

A page that draws a person and its neighbours needs the match weight of every pair it may
show: the links inside each person and the strongest pair between two persons. Explaining
pair by pair costs a pass through Splink's pipeline each (about 0.4 s); here every left
record is compared with every right record in one query (a very large set in a few), on the
cached linker of the latest run's model, the one `explain_pair` uses.

The query is Splink's own (``linker.inference.score_pairs``: a cartesian product, no
blocking), written once per linker and kept (`scoring_sql`): building Splink's pipeline was
most of a graph's time; running the kept SQL on a page's pairs (some 15,000) takes a few
tens of milliseconds.

Term frequencies are given with the records, as `explain_pair` gives them: each value's
share of the store, counted once per run's model. Explain counts only the values a pair
shares (the only ones an equal-value level reads), and counts any other the reached level
reads before scoring again; here the values two or more of the records hold are counted
(each pair's shared values among them), and should a pair reach an adjusted level on a
value not counted, every value is counted and the records scored again. Both read the same
shares at whatever level a pair reaches, so both give the same weight (a test holds them
to 0.01). Counting only shared values keeps the count, a pass over the store, short.

A pair's score is kept in the process, per run's model (KEPT_SCORES at most), and a pair
scored before is not scored again: records are never edited in place (a correction is a new
record), and the shares a pair reads are those of the values it shares, kept per run's model
as `explain` keeps them; so the kept score is the one scoring again would give. A graph
read again, or one that shares records with a graph read before, scores only what is new.

Unaudited: the caller reads the scores for a read it audits itself.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import ResolutionRun
from caseline.errors import InputError, StateError
from caseline.resolve.explain import (
    _FREQUENCIES,
    CACHED_MODELS,
    _cached_shares,
    _count_in_store,
    _Explainer,
    _explainer,
    _gamma_column,
)
from caseline.resolve.features import add_features
from caseline.resolve.model import match_weight
from caseline.resolve.records import load_model_frame
from caseline.resolve.scoring_sql import score_all_pairs

PAIRS_PER_PASS = 200_000  # a graph within its cap needs one pass; more are split
_VALUES_PER_COUNT = 250  # distinct values counted in the store per query (through its indexes)
KEPT_SCORES = 100_000  # pairs whose score a process keeps per run's model (a graph: ~15,000)

# Per explainer (by id, with the explainer to tell a reused id): the pairs it has scored.
_known: OrderedDict[int, tuple[_Explainer, OrderedDict[tuple[str, str], ScoredPair]]] = (
    OrderedDict()
)
_known_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class ScoredPair:
    """Two records and the model's score of them (``left_record_id`` < ``right_record_id``)."""

    left_record_id: str
    right_record_id: str
    match_weight: float
    match_probability: float


@dataclass(frozen=True, slots=True)
class PairScores:
    """The scores of a run's model for pairs of records, each unordered pair once."""

    resolution_run_id: int
    threshold_weight: float  # the weight at and above which the run links on score alone
    pairs: dict[tuple[str, str], ScoredPair]

    def of(self, one: str, other: str) -> ScoredPair | None:
        """The score of two records, in either order; None if they were not scored."""
        return self.pairs.get(_key(one, other))


def score_record_pairs(
    session: Session, left_record_ids: Iterable[str], right_record_ids: Iterable[str]
) -> PairScores:
    """Every pair of a left record and a different right record, scored by the latest run's
    model: in one pass, or in as few as hold PAIRS_PER_PASS pairs each. Raises StateError
    when nothing is resolved yet or its model cannot be read, InputError for a record that
    does not exist."""
    left, right = sorted(set(left_record_ids)), sorted(set(right_record_ids))
    run = session.scalars(select(ResolutionRun).order_by(ResolutionRun.id.desc()).limit(1)).first()
    if run is None:
        raise StateError("nothing is resolved yet; run `caseline resolve`")
    scores = PairScores(run.id, match_weight(run.threshold), {})
    if not left or not right:
        return scores
    explainer = _explainer(run)
    wanted = {_key(one, other) for one in left for other in right if one != other}
    known = _known_scores(explainer)
    with explainer.lock:
        scores.pairs.update((key, known[key]) for key in wanted if key in known)
    missing = wanted - scores.pairs.keys()
    if missing:  # only the records of a pair not scored yet, against each other
        left = sorted({one for pair in missing for one in pair} & set(left))
        right = sorted({one for pair in missing for one in pair} & set(right))
        fresh = _score_now(session, explainer, left, right)
        scores.pairs.update((key, fresh[key]) for key in missing)
        with explainer.lock:
            known.update(fresh)
            while len(known) > KEPT_SCORES:
                known.popitem(last=False)
    return scores


def _score_now(
    session: Session, explainer: _Explainer, left: list[str], right: list[str]
) -> dict[tuple[str, str], ScoredPair]:
    """Every pair of a left and a different right record, scored now."""
    records = _feature_records(session, sorted(set(left) | set(right)))
    by_id = {record["unique_id"]: record for record in records}
    _add_frequencies(session, explainer, records, shared_only=True)
    frames = _scored(explainer, [by_id[i] for i in left], [by_id[i] for i in right])
    if any(_reads_uncounted(explainer.model.settings, frame) for frame in frames):
        _add_frequencies(session, explainer, records, shared_only=False)
        frames = _scored(explainer, [by_id[i] for i in left], [by_id[i] for i in right])
    fresh: dict[tuple[str, str], ScoredPair] = {}
    for frame in frames:
        for one, other, weight, probability in zip(
            frame["unique_id_l"], frame["unique_id_r"], frame["match_weight"],
            frame["match_probability"], strict=True,
        ):  # fmt: skip
            if one == other:
                continue
            a, b = _key(str(one), str(other))
            fresh.setdefault((a, b), ScoredPair(a, b, float(weight), float(probability)))
    return fresh


def _known_scores(explainer: _Explainer) -> OrderedDict[tuple[str, str], ScoredPair]:
    """The pairs scored so far with the explainer's model, oldest first."""
    with _known_lock:
        kept = _known.get(id(explainer))
        if kept is None or kept[0] is not explainer:  # not another at a reused address
            kept = _known[id(explainer)] = (explainer, OrderedDict())
        _known.move_to_end(id(explainer))
        while len(_known) > CACHED_MODELS:
            _known.popitem(last=False)
        return kept[1]


def _scored(
    explainer: _Explainer, left: list[dict[str, Any]], right: list[dict[str, Any]]
) -> list[pd.DataFrame]:
    """The scored rows of every left record against every right one, pass by pass (the
    columns `score_record_pairs` reads, not all Splink writes)."""
    frames = []
    step = max(1, PAIRS_PER_PASS // len(right))
    settings = explainer.model.settings

    def columns(written: set[str]) -> list[str]:
        return [column for column in _columns_read(settings) if column in written]

    for start in range(0, len(left), step):
        with explainer.lock:
            table = score_all_pairs(
                explainer.linker, left[start : start + step], right, reader=__name__,
                columns=columns,
            )  # fmt: skip
            try:
                frames.append(table.as_pandas_dataframe())
            finally:
                table.drop_table_from_database_and_remove_from_cache()
    return frames


def _columns_read(settings: Mapping[str, Any]) -> list[str]:
    """The scored columns read here: the pair, its weight and probability, and what
    `_reads_uncounted` reads of each comparison that adjusts for a frequency."""
    prefix = settings.get("term_frequency_adjustment_column_prefix", "tf_")
    columns = ["unique_id_l", "unique_id_r", "match_weight", "match_probability"]
    for comparison in settings["comparisons"]:
        adjusted = [
            level["tf_adjustment_column"]
            for level in comparison["comparison_levels"]
            if level.get("tf_adjustment_column")
        ]
        if adjusted:
            columns.append(_gamma_column(comparison, settings))
        for column in adjusted:
            columns += [f"{column}_l", f"{column}_r", f"{prefix}{column}_l", f"{prefix}{column}_r"]
    return list(dict.fromkeys(columns))


def _reads_uncounted(settings: Mapping[str, Any], frame: pd.DataFrame) -> bool:
    """Whether some pair reached a level adjusted by a frequency left uncounted (a value no
    other record holds): never with Caseline's model, which adjusts equal values only."""
    prefix = settings.get("term_frequency_adjustment_column_prefix", "tf_")
    for comparison in settings["comparisons"]:
        gamma = _gamma_column(comparison, settings)
        non_null = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for value, level in zip(range(len(non_null) - 1, -1, -1), non_null, strict=True):
            column = level.get("tf_adjustment_column")
            if not column:
                continue
            reached = frame[
                (frame[gamma] == value) & (frame["unique_id_l"] != frame["unique_id_r"])
            ]
            for side in ("l", "r"):
                held, counted = f"{column}_{side}", f"{prefix}{column}_{side}"
                if held not in reached or counted not in reached:
                    return not reached.empty
                if (reached[held].notna() & reached[counted].isna()).any():
                    return True
    return False


def _key(one: str, other: str) -> tuple[str, str]:
    return (one, other) if one < other else (other, one)


def _feature_records(session: Session, record_ids: list[str]) -> list[dict[str, Any]]:
    """The records as the model compares them (as `explain` reads its two)."""
    frame = add_features(load_model_frame(session, record_ids))
    records: list[dict[str, Any]] = frame.to_dict("records")
    missing = set(record_ids) - {record["unique_id"] for record in records}
    if missing:
        raise InputError(f"no record {sorted(missing)[0]!r}", where="records")
    return records


def _add_frequencies(
    session: Session, explainer: _Explainer, records: list[dict[str, Any]], *, shared_only: bool
) -> None:
    """Each record's ``tf_`` column per frequency column: its value's share of the store.
    ``shared_only``: only for values two or more of the records hold (as `explain` counts
    only the values a pair shares), the others left unknown, which adjusts nothing."""
    model = explainer.model
    prefix = model.settings.get("term_frequency_adjustment_column_prefix", "tf_")
    for column in model.frequency_columns:
        counter = _FREQUENCIES.get(column)
        if counter is None:
            raise StateError(f"pair scores cannot count the frequency of {column!r}")
        count = partial(_count_in_store, counter, session, model.frequency_scales.get(column, 1.0))
        held = Counter(_value(r.get(column)) for r in records)
        values = [v for v, n in held.items() if v is not None and (n > 1 or not shared_only)]
        shares: dict[Any, float | None] = {}
        for start in range(0, len(values), _VALUES_PER_COUNT):
            chunk = values[start : start + _VALUES_PER_COUNT]
            shares.update(zip(chunk, _cached_shares(explainer, column, chunk, count), strict=True))
        for record in records:
            record[f"{prefix}{column}"] = shares.get(_value(record.get(column)))


def _value(value: Any) -> Any:
    """A missing value as None, however the frame held it (NaN is not equal to itself)."""
    return None if value is None or (isinstance(value, float) and value != value) else value
