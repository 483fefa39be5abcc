"""Why two records scored as they did, and how a person's records moved between runs.

An explanation is the model's arithmetic laid out as a waterfall: the prior's match weight,
then, per comparison, the level the pair reached, its weight (log2 of the Bayes factor) and
any term-frequency adjustment, summing to the pair's match weight. The pair is scored with
the model of the latest resolution run, on the embedded engine whatever engine the run used
(the model, and so the score, is the same), by Splink's own `score_pair`.

A term-frequency adjustment says how common the shared value is: two records that agree on
a rare name are stronger evidence than two that agree on a common one. Resolution counts a
value's share over every stored record, leaving the pair's own two records out (see
`frequencies`, with the scale kept in the model), so the explanation counts it in the store
too, and only for a comparison whose level the pair reached with an adjustment (the only
case where the share changes the score): an explanation of two records that share no name
or address reads no more than the two records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlglot
from sqlalchemy import ColumnElement, case, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.types import String
from sqlglot import exp

from caseline.db.models import PersonEvent, PersonRecord, ResolutionRun, SourceRecord
from caseline.errors import InputError, StateError
from caseline.oversight import Actor, PairExplained, PersonEventsRead, permit
from caseline.resolve.engine import DEFAULT_ENGINE, Engine
from caseline.resolve.features import UNREADABLE_COLUMNS, add_features
from caseline.resolve.frequencies import share
from caseline.resolve.model import ResolutionModel, load_model, match_weight
from caseline.resolve.records import load_model_frame

EXPLAIN_ENGINE: Engine = DEFAULT_ENGINE  # two records need no cluster


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

    @property
    def total_weight(self) -> float:
        return self.weight + (self.term_frequency_weight or 0.0)


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


@dataclass(frozen=True, slots=True)
class PersonChangeEvent:
    """A merge or split between two resolution runs that touched a person.

    merge: ``person_id`` now holds the records of ``related_person_ids``; split: the records of
    ``person_id`` now form the persons ``related_person_ids``.
    """

    id: int
    resolution_run_id: int
    kind: str
    person_id: str
    related_person_ids: tuple[str, ...]
    record_count: int
    occurred_at: dt.datetime


def explain_pair(
    session: Session,
    actor: Actor,
    left_record_id: str,
    right_record_id: str,
    purpose: str | None,
) -> PairExplanation:
    """How the latest run's model scores two records, term by term (audited).

    Raises InputError naming ``left`` or ``right`` for a record that does not exist, and
    StateError when nothing is resolved yet or the run's model cannot be read.
    """
    allowed = permit(actor, PairExplained, purpose)
    if left_record_id == right_record_id:
        raise InputError("an explanation needs two different records", where="right")
    run = session.scalars(select(ResolutionRun).order_by(ResolutionRun.id.desc()).limit(1)).first()
    if run is None:
        raise StateError("nothing is resolved yet; run `caseline resolve`")
    model = _run_model(run)
    records = _feature_records(session, left_record_id, right_record_id)
    row = _score(session, model, records)
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
        ),
    )
    return explanation


def list_person_events(
    session: Session,
    actor: Actor,
    person_id: str,
    purpose: str | None,
    *,
    case_id: str | None = None,
) -> list[PersonChangeEvent]:
    """The merges and splits that touched a person, oldest first (audited, with the case it
    was read for).

    A person that a later run merged away or split keeps its events, so the id need not name
    a current person.
    """
    allowed = permit(actor, PersonEventsRead, purpose)
    # JSON containment differs between SQLite and PostgreSQL: narrow by text, then check.
    mentioned = cast(PersonEvent.related_person_ids, String).contains(person_id, autoescape=True)
    rows = session.scalars(
        select(PersonEvent)
        .where(or_(PersonEvent.person_id == person_id, mentioned))
        .order_by(PersonEvent.occurred_at, PersonEvent.id)
    ).all()
    events = [
        PersonChangeEvent(
            id=row.id,
            resolution_run_id=row.resolution_run_id,
            kind=row.kind,
            person_id=row.person_id,
            related_person_ids=tuple(row.related_person_ids.get("persons", ())),
            record_count=row.record_count,
            occurred_at=row.occurred_at,
        )
        for row in rows
    ]
    events = [e for e in events if person_id in (e.person_id, *e.related_person_ids)]
    allowed.record(
        session,
        PersonEventsRead(person_id=person_id, events=tuple(e.id for e in events), case_id=case_id),
    )
    return events


def _run_model(run: ResolutionRun) -> ResolutionModel:
    try:
        model = load_model(Path(run.model_path))
    except InputError as exc:
        raise StateError(
            f"the model of resolution run {run.id} ({Path(run.model_path).name}) cannot be "
            f"read: {exc.args[0]}; run `caseline resolve` again"
        ) from None
    return model


def _feature_records(session: Session, left: str, right: str) -> list[dict[str, Any]]:
    """The two records as the model compares them, left first."""
    frame = add_features(load_model_frame(session, [left, right]))
    by_id = {record["unique_id"]: record for record in frame.to_dict("records")}
    for where, record_id in (("left", left), ("right", right)):
        if record_id not in by_id:
            raise InputError(f"no record {record_id!r}", where=where)
    return [by_id[left], by_id[right]]


def _score(
    session: Session, model: ResolutionModel, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """Splink's scored row for the pair, with the store's term frequencies where they count.

    The first pass gives every frequency as unknown (which adjusts nothing) to learn which
    levels the pair reaches; if one of them is adjusted for its value's frequency, the
    frequencies of those columns are counted in the store and the pair scored again. Left
    unset, Splink would count frequencies over the two records alone.
    """
    settings = model.settings
    linker = EXPLAIN_ENGINE.create_linker(
        pd.DataFrame.from_records(records), settings, pairs="none"
    )
    tf_prefix = settings.get("term_frequency_adjustment_column_prefix", "tf_")
    adjusted = model.frequency_columns
    frequencies: dict[str, list[float | None]] = {column: [None, None] for column in adjusted}

    def scored() -> dict[str, Any]:
        left, right = (
            {**record, **{f"{tf_prefix}{c}": f[i] for c, f in frequencies.items()}}
            for i, record in enumerate(records)
        )
        rows: list[dict[str, Any]] = linker.inference.score_pair(left, right).as_record_list()
        return rows[0]

    row = scored()
    reached = {
        column
        for comparison in settings["comparisons"]
        if (column := level_of(comparison, settings, row).get("tf_adjustment_column"))
    }
    if not reached:
        return row
    for column in sorted(reached):
        count = _FREQUENCIES.get(column)
        if count is None:
            raise StateError(f"explanations cannot count the frequency of {column!r}")
        scale = model.frequency_scales.get(column, 1.0)
        frequencies[column] = count(session, [record[column] for record in records], scale)
    return scored()


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
        condition = level["sql_condition"]
        if condition.strip().upper() == "ELSE":
            continue
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
    return _shares(session, addressed, values, lambda value: key == value, scale)


def _shares(
    session: Session,
    population: ColumnElement[bool],
    values: list[Any],
    holds: Callable[[Any], ColumnElement[bool]],
    scale: float,
) -> list[float | None]:
    """Each value's share of the records in ``population`` as a stranger's (see
    `frequencies.share`), counted in one pass (None for a missing value)."""
    distinct = sorted({v for v in values if v is not None})
    if not distinct:
        return [None for _ in values]
    counts = session.execute(
        select(
            func.count(),
            *(func.sum(case((holds(value), 1), else_=0)) for value in distinct),
        ).where(population)
    ).one()
    total = counts[0] or 0
    shares = {
        value: float(share(counts[i + 1] or 0, total, scale)) if total else None
        for i, value in enumerate(distinct)
    }
    return [shares[v] if v is not None else None for v in values]


_FREQUENCIES: dict[str, Callable[[Session, list[Any], float], list[float | None]]] = {
    "full_name": _name_frequencies,
    "address_key": _address_frequencies,
}
