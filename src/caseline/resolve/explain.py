"""Why two records scored as they did.

An explanation is the model's arithmetic laid out as a waterfall: the prior's match weight,
then, per comparison, the level the pair reached, its weight (log2 of the Bayes factor) and
any term-frequency adjustment, summing to the pair's match weight. The pair is scored with
the model of the latest resolution run, on the embedded engine whatever engine the run used
(the model, and so the score, is the same), by the SQL Splink's own `score_pair` runs
(written once per linker and kept, see `scoring_sql`).

A term-frequency adjustment says how common the shared value is: two records that agree on
a rare name are stronger evidence than two that agree on a common one. Resolution counts a
value's share over every stored record, leaving the pair's own two records out (see
`frequencies`, with the scale kept in the model), so the explanation counts it in the store
too, and only for a value the two records share (the model adjusts only levels of equal
values, the only case where the share changes the score): an explanation of two records
that share no name or address reads no more than the two records.

Explaining is interactive (a reviewer moves through a queue), so a process keeps, per run's
model file (its path, size and time of change), the model read from it and a linker built on
it (`_Explainer`), and the frequencies it counted for that run: a run writes a new model
file, so a new run is never explained with an old run's cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import pandas as pd
import sqlglot
from splink import Linker
from sqlalchemy import ColumnElement, and_, case, func, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlglot import exp

from caseline.db.models import PersonRecord, ResolutionRun, SourceRecord
from caseline.errors import InputError, StateError
from caseline.oversight import Actor, PairExplained, permit
from caseline.resolve.engine import DEFAULT_ENGINE, Engine
from caseline.resolve.features import UNREADABLE_COLUMNS, add_features
from caseline.resolve.frequencies import share
from caseline.resolve.model import ResolutionModel, load_model, match_weight
from caseline.resolve.records import load_model_frame
from caseline.resolve.scoring_sql import score_pair_row

EXPLAIN_ENGINE: Engine = DEFAULT_ENGINE  # two records need no cluster
CACHED_MODELS = 4  # runs' models a process keeps ready (a new run adds one)
CACHED_FREQUENCIES = 20_000  # values whose share of the store a process keeps, per model


@dataclass(frozen=True, slots=True)
class ComparedValues:
    """One column a comparison reads, as each record holds it (a list for a set of words)."""

    column: str
    left: Any
    right: Any


@dataclass(frozen=True, slots=True)
class ComparisonTerm:
    """One comparison's share of the match weight: the level the pair reached and its weight.

    ``term_frequency_weight`` is None for a comparison without frequency adjustments, and 0
    when it has them but the pair's level has none; ``term_frequencies`` are the shares of
    records holding each record's value, counted only when they change the score.
    """

    comparison: str
    description: str | None
    level: str
    comparison_vector_value: int
    weight: float
    term_frequency_weight: float | None
    term_frequencies: tuple[float | None, float | None] | None
    values: tuple[ComparedValues, ...]
    levels: int = 0  # the comparison's levels that compare (its null level aside)

    @property
    def total_weight(self) -> float:
        return self.weight + (self.term_frequency_weight or 0.0)

    @property
    def agreement(self) -> str:
        """exact (the top level), close (a level between), different (the bottom level), or
        missing (a value to compare is missing), as a reviewer reads the level."""
        if self.comparison_vector_value < 0:
            return "missing"
        if self.comparison_vector_value == 0:
            return "different"
        return "exact" if self.comparison_vector_value >= self.levels - 1 else "close"


@dataclass(frozen=True, slots=True)
class PairExplanation:
    """The waterfall: ``prior_weight`` plus every term's total weight is ``match_weight``."""

    left_record_id: str
    right_record_id: str
    resolution_run_id: int
    model_name: str
    prior_weight: float
    terms: tuple[ComparisonTerm, ...]
    match_weight: float
    match_probability: float
    threshold: float
    threshold_weight: float

    @property
    def above_threshold(self) -> bool:
        """Whether resolution would link the pair on its score alone (as linking does)."""
        return self.match_weight >= self.threshold_weight


def explain_pair(
    session: Session,
    actor: Actor,
    left_record_id: str,
    right_record_id: str,
    purpose: str | None,
    *,
    case_id: str | None = None,
) -> PairExplanation:
    """How the latest run's model scores two records, term by term (audited, with the case
    the purpose bound to, if any).

    Raises InputError naming ``left`` or ``right`` for a record that does not exist, and
    StateError when nothing is resolved yet or the run's model cannot be read.
    """
    allowed = permit(actor, PairExplained, purpose)
    if left_record_id == right_record_id:
        raise InputError("an explanation needs two different records", where="right")
    run = session.scalars(select(ResolutionRun).order_by(ResolutionRun.id.desc()).limit(1)).first()
    if run is None:
        raise StateError("nothing is resolved yet; run `caseline resolve`")
    explainer = _explainer(run)
    model = explainer.model
    records = _feature_records(session, left_record_id, right_record_id)
    row = _score(session, explainer, records)
    explanation = PairExplanation(
        left_record_id=left_record_id,
        right_record_id=right_record_id,
        resolution_run_id=run.id,
        model_name=Path(run.model_path).name,
        prior_weight=match_weight(model.prior),
        terms=tuple(
            _term(comparison, model.settings, row) for comparison in model.settings["comparisons"]
        ),
        match_weight=float(row["match_weight"]),
        match_probability=float(row["match_probability"]),
        threshold=run.threshold,
        threshold_weight=match_weight(run.threshold),
    )
    persons = session.execute(
        select(PersonRecord.record_id, PersonRecord.person_id).where(
            PersonRecord.record_id.in_([left_record_id, right_record_id])
        )
    ).all()
    allowed.record(
        session,
        PairExplained(
            left=left_record_id,
            right=right_record_id,
            persons=dict(sorted((r, p) for r, p in persons)),
            resolution_run=run.id,
            match_weight=round(explanation.match_weight, 6),
            case_id=case_id,
        ),
    )
    return explanation


@dataclass(slots=True)
class _Explainer:
    """A run's model with a linker that scores any two records with it (its input table is
    never read: every frequency is given with the records), and the shares counted so far."""

    model: ResolutionModel
    linker: Linker
    lock: threading.Lock = field(default_factory=threading.Lock)  # one DuckDB connection
    shares: OrderedDict[tuple[str, Any], float | None] = field(default_factory=OrderedDict)


_explainers: OrderedDict[tuple[str, int, int], _Explainer] = OrderedDict()
_explainers_lock = threading.Lock()


def _explainer(run: ResolutionRun) -> _Explainer:
    """The run's model and linker, read and built once per process and model file."""
    path = Path(run.model_path)
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        with _explainers_lock:
            if key in _explainers:
                _explainers.move_to_end(key)
                return _explainers[key]
        model = load_model(path)
    except (InputError, OSError) as exc:
        why = exc.args[0] if isinstance(exc, InputError) else "no such model file"
        raise StateError(
            f"the model of resolution run {run.id} ({path.name}) cannot be read: {why}; run "
            "`caseline resolve` again"
        ) from None
    # The model's SQL was checked when it was trained; checking it again takes a second.
    linker = EXPLAIN_ENGINE.create_linker(
        _placeholder_records(model), model.settings, pairs="none", validate=False
    )
    explainer = _Explainer(model, linker)
    with _explainers_lock:
        _explainers[key] = explainer
        while len(_explainers) > CACHED_MODELS:
            _explainers.popitem(last=False)
    return explainer


def _placeholder_records(model: ResolutionModel) -> pd.DataFrame:
    """Two empty records of the model's columns: a linker needs an input table to exist."""
    columns: dict[str, list[Any]] = {"unique_id": ["placeholder-1", "placeholder-2"]}
    for comparison in model.settings["comparisons"]:
        for column in _compared_columns(comparison, model.settings.get("sql_dialect") or "duckdb"):
            columns.setdefault(column, [None, None])
    for column in model.frequency_columns:
        columns.setdefault(column, [None, None])
    return pd.DataFrame(columns)


def _feature_records(session: Session, left: str, right: str) -> list[dict[str, Any]]:
    """The two records as the model compares them, left first."""
    frame = add_features(load_model_frame(session, [left, right]))
    by_id = {record["unique_id"]: record for record in frame.to_dict("records")}
    for where, record_id in (("left", left), ("right", right)):
        if record_id not in by_id:
            raise InputError(f"no record {record_id!r}", where=where)
    return [by_id[left], by_id[right]]


def _score(
    session: Session, explainer: _Explainer, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """Splink's scored row for the pair, with the store's term frequencies where they count.

    A frequency changes the score only at a level adjusted for it, and Caseline's model
    adjusts only levels where the two values are equal: so the frequencies of the values the
    two records share are counted in the store first and the pair scored once. Should the
    pair reach an adjusted level on a column not counted (a model adjusting another kind of
    level), that column is counted and the pair scored again. Left unset, a frequency is
    unknown, which adjusts nothing (Splink would count over the two records alone).
    """
    model = explainer.model
    settings = model.settings
    tf_prefix = settings.get("term_frequency_adjustment_column_prefix", "tf_")
    frequencies: dict[str, list[float | None]] = {c: [None, None] for c in model.frequency_columns}

    def count(columns: set[str]) -> None:
        for column in sorted(columns):
            counter = _FREQUENCIES.get(column)
            if counter is None:
                raise StateError(f"explanations cannot count the frequency of {column!r}")
            scale = model.frequency_scales.get(column, 1.0)
            frequencies[column] = _cached_shares(
                explainer, column, [record[column] for record in records],
                partial(_count_in_store, counter, session, scale),
            )  # fmt: skip

    def scored() -> dict[str, Any]:
        left, right = (
            {**record, **{f"{tf_prefix}{c}": f[i] for c, f in frequencies.items()}}
            for i, record in enumerate(records)
        )
        with explainer.lock:
            return score_pair_row(explainer.linker, left, right, reader=__name__)

    shared = {
        column
        for column in frequencies
        if records[0].get(column) is not None and records[0].get(column) == records[1].get(column)
    }
    count(shared)
    row = scored()
    reached = {
        column
        for comparison in settings["comparisons"]
        if (column := level_of(comparison, settings, row).get("tf_adjustment_column"))
    }
    if reached <= shared:
        return row
    count(reached - shared)
    return scored()


def _count_in_store(
    counter: Callable[[Session, list[Any], float], list[float | None]],
    session: Session,
    scale: float,
    values: list[Any],
) -> list[float | None]:
    return counter(session, values, scale)


def _cached_shares(
    explainer: _Explainer,
    column: str,
    values: list[Any],
    count: Callable[[list[Any]], list[float | None]],
) -> list[float | None]:
    """Each value's share, counted in the store once per run's model (``count`` counts the
    values not counted yet); the oldest are forgotten past CACHED_FREQUENCIES."""
    cache = explainer.shares
    with explainer.lock:
        known = {v: cache[(column, v)] for v in values if (column, v) in cache}
    missing = [v for v in dict.fromkeys(values) if v not in known]
    if missing:
        known.update(zip(missing, count(missing), strict=True))
        with explainer.lock:
            cache.update(((column, v), known[v]) for v in missing)
            while len(cache) > CACHED_FREQUENCIES:
                cache.popitem(last=False)
    return [known[v] for v in values]


def _term(
    comparison: Mapping[str, Any], settings: Mapping[str, Any], row: Mapping[str, Any]
) -> ComparisonTerm:
    name = comparison["output_column_name"]
    prefix = settings.get("match_weight_column_prefix", "mw_")
    tf_prefix = settings.get("term_frequency_adjustment_column_prefix", "tf_")
    level = level_of(comparison, settings, row)
    tf_weight_column = _column_name(f"{prefix}{tf_prefix}adj_{name}")
    tf_column = level.get("tf_adjustment_column")
    return ComparisonTerm(
        comparison=name,
        description=comparison.get("comparison_description"),
        level=level["label_for_charts"],
        comparison_vector_value=int(row[_gamma_column(comparison, settings)]),
        weight=float(row[_column_name(f"{prefix}{name}")]),
        term_frequency_weight=(float(row[tf_weight_column]) if tf_weight_column in row else None),
        term_frequencies=(
            (row[f"{tf_prefix}{tf_column}_l"], row[f"{tf_prefix}{tf_column}_r"])
            if tf_column
            else None
        ),
        values=tuple(
            ComparedValues(column, row.get(f"{column}_l"), row.get(f"{column}_r"))
            for column in _compared_columns(comparison, settings.get("sql_dialect") or "duckdb")
            if column not in UNREADABLE_COLUMNS  # hashes; the words show in the name's columns
        ),
        levels=sum(1 for lv in comparison["comparison_levels"] if not lv.get("is_null_level")),
    )


def _column_name(name: str) -> str:
    return name.replace(" ", "_")  # as Splink names its output columns


def _gamma_column(comparison: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    prefix = settings.get("comparison_vector_value_column_prefix", "gamma_")
    return _column_name(f"{prefix}{comparison['output_column_name']}")


def level_of(
    comparison: Mapping[str, Any], settings: Mapping[str, Any], row: Mapping[str, Any]
) -> dict[str, Any]:
    """The level the pair reached (``settings``: the model's Splink settings): Splink numbers
    a comparison's levels from the top one down to 0, in order, skipping null levels, which
    are all -1."""
    value = int(row[_gamma_column(comparison, settings)])
    levels = comparison["comparison_levels"]
    counter = sum(1 for level in levels if not level.get("is_null_level"))
    for level in levels:
        if level.get("is_null_level"):
            if value == -1:
                return dict(level)
            continue
        counter -= 1
        if counter == value:
            return dict(level)
    raise StateError(f"comparison {comparison['output_column_name']!r} has no level {value}")


def _compared_columns(comparison: Mapping[str, Any], dialect: str) -> tuple[str, ...]:
    """The input columns a comparison's levels read, in order of first use."""
    columns: dict[str, None] = {}
    for level in comparison["comparison_levels"]:
        columns.update(dict.fromkeys(_columns_of(level["sql_condition"], dialect)))
    return tuple(columns)


@lru_cache(maxsize=1024)
def _columns_of(condition: str, dialect: str) -> tuple[str, ...]:
    """The input columns one level's condition reads (parsed once per process: a model's
    conditions are few, and parsing them was a tenth of an explanation's time)."""
    if condition.strip().upper() == "ELSE":
        return ()
    columns: dict[str, None] = {}
    for column in sqlglot.parse_one(condition, read=dialect).find_all(exp.Column, bfs=False):
        if column.table in ("l", "r"):
            columns.setdefault(column.name)
        elif column.name.endswith(("_l", "_r")):
            columns.setdefault(column.name[:-2])
    return tuple(columns)


def _name_frequencies(session: Session, values: list[Any], scale: float) -> list[float | None]:
    """The share of named records whose full name (first given word and family name, as
    `features.add_features` builds it) is each of ``values`` (a stranger's: see
    `frequencies.share`, with the model's ``scale``)."""
    r = SourceRecord
    named = (r.given_name != "") & (r.family_name != "")

    def is_named(full_name: str) -> ColumnElement[bool]:
        given, _, family = full_name.partition(" ")
        first_word = func.substr(r.given_name, 1, len(given) + 1) == f"{given} "
        return (r.family_name == family) & ((r.given_name == given) | first_word)

    return _shares(session, named, values, is_named, scale)


def _address_frequencies(session: Session, values: list[Any], scale: float) -> list[float | None]:
    """The share of addressed records whose address key (as `records.model_frame` builds
    it: number, street, unit, postcode) is each of ``values`` (as `_name_frequencies`)."""
    r = SourceRecord

    def then(column: Any) -> Any:
        return case((func.coalesce(column, "") != "", " " + column), else_="")

    key = r.street_number + " " + r.street + then(r.unit) + then(r.postcode)
    addressed = (r.street_number != "") & (r.street != "")

    def is_at(address_key: str) -> ColumnElement[bool]:
        # Every way the key's words split into a number and a street, for the index on
        # the street and number (migration 0019); the key itself decides.
        words = address_key.split(" ")
        splits = [
            (" ".join(words[i:j]), " ".join(words[:i]))
            for i in range(1, len(words))
            for j in range(i + 1, len(words) + 1)
        ]
        return and_(tuple_(r.street, r.street_number).in_(splits), key == address_key)

    return _shares(session, addressed, values, is_at, scale)


def _shares(
    session: Session,
    population: ColumnElement[bool],
    values: list[Any],
    holds: Callable[[Any], ColumnElement[bool]],
    scale: float,
) -> list[float | None]:
    """Each value's share of the records in ``population`` as a stranger's (see
    `frequencies.share`; None for a missing value): the population counted, then the
    records holding each value, found through the indexes ``holds`` can use (a pass over
    the store with a condition per value took seconds on a million records)."""
    distinct = sorted({v for v in values if v is not None})
    if not distinct:
        return [None for _ in values]
    total = session.scalar(select(func.count()).where(population)) or 0
    held = (
        select(case(*((holds(value), i) for i, value in enumerate(distinct))).label("value"))
        .where(population, or_(*(holds(value) for value in distinct)))
        .subquery()
    )
    counted = select(held.c.value, func.count()).group_by(held.c.value)
    counts: dict[int, int] = {int(value): int(n) for value, n in session.execute(counted)}
    shares = {
        value: float(share(counts.get(i, 0), total, scale)) if total else None
        for i, value in enumerate(distinct)
    }
    return [shares[v] if v is not None else None for v in values]


_FREQUENCIES: dict[str, Callable[[Session, list[Any], float], list[float | None]]] = {
    "full_name": _name_frequencies,
    "address_key": _address_frequencies,
}
