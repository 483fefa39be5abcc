"""Pairs of records: why the model scored two records as it did, and reviewers' decisions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, JsonValue

from caseline.api.deps import Authorized, DatabaseDep
from caseline.cases import explain_for_work
from caseline.oversight import Actor, Permission
from caseline.resolve import ComparisonTerm, Decision, PairExplanation, decide_pair

router = APIRouter(prefix="/pairs", tags=["pairs"])

RecordId = Annotated[str, Query(min_length=1, max_length=64, description="A record id")]


class ComparedValuesOut(BaseModel):
    column: str
    left: JsonValue
    right: JsonValue


class TermFrequenciesOut(BaseModel):
    left: float | None
    right: float | None


class ComparisonTermOut(BaseModel):
    comparison: str
    description: str | None
    level: str
    comparison_vector_value: int
    weight: float = Field(description="The level's match weight, log2 of its Bayes factor")
    term_frequency_weight: float | None = Field(
        description="The adjustment for how common the shared value is (null: none possible)"
    )
    term_frequencies: TermFrequenciesOut | None = Field(
        description="Share of records holding each record's value, where it counts"
    )
    total_weight: float
    values: list[ComparedValuesOut]

    @classmethod
    def of(cls, term: ComparisonTerm) -> ComparisonTermOut:
        frequencies = term.term_frequencies
        return cls(
            comparison=term.comparison,
            description=term.description,
            level=term.level,
            comparison_vector_value=term.comparison_vector_value,
            weight=term.weight,
            term_frequency_weight=term.term_frequency_weight,
            term_frequencies=(
                TermFrequenciesOut(left=frequencies[0], right=frequencies[1])
                if frequencies
                else None
            ),
            total_weight=term.total_weight,
            values=[
                ComparedValuesOut(column=v.column, left=v.left, right=v.right) for v in term.values
            ],
        )


class PairExplanationOut(BaseModel):
    """A waterfall: ``prior_weight`` plus each term's ``total_weight`` is ``match_weight``."""

    left_record_id: str
    right_record_id: str
    resolution_run_id: int
    model_name: str
    prior_weight: float
    terms: list[ComparisonTermOut]
    match_weight: float
    match_probability: float
    threshold: float = Field(description="The run's match probability threshold")
    threshold_weight: float
    above_threshold: bool

    @classmethod
    def of(cls, explanation: PairExplanation) -> PairExplanationOut:
        return cls(
            left_record_id=explanation.left_record_id,
            right_record_id=explanation.right_record_id,
            resolution_run_id=explanation.resolution_run_id,
            model_name=explanation.model_name,
            prior_weight=explanation.prior_weight,
            terms=[ComparisonTermOut.of(t) for t in explanation.terms],
            match_weight=explanation.match_weight,
            match_probability=explanation.match_probability,
            threshold=explanation.threshold,
            threshold_weight=explanation.threshold_weight,
            above_threshold=explanation.above_threshold,
        )


class DecisionIn(BaseModel):
    left_record_id: str = Field(min_length=1, max_length=64)
    right_record_id: str = Field(min_length=1, max_length=64)
    decision: Decision
    reason: str = Field(max_length=2000, description="Why (recorded with the decision)")


class DecisionOut(BaseModel):
    id: int
    left_record_id: str
    right_record_id: str
    decision: Decision


@router.get("/explain", response_model=PairExplanationOut)
def explain(
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.EXPLAIN_LINKS)],
    left: RecordId,
    right: RecordId,
    purpose: Annotated[
        str,
        Query(
            min_length=5,
            max_length=256,
            description="Work on the person holding either record (case:ID, lead:ID, "
            "dispute:ID, pair:ID) or a countersigned reason; recorded",
        ),
    ],
    as_of: Annotated[dt.date | None, Query(description="The day a lead is read on")] = None,
) -> PairExplanationOut:
    """How the latest resolution run's model scores two records, comparison by comparison
    (the data behind a waterfall chart). The two records' values are a read of the persons
    holding them: the purpose must bind to work on one of them (403 otherwise). Audited."""
    with database.transaction() as session:
        explanation = explain_for_work(session, actor, left, right, purpose, as_of)
    return PairExplanationOut.of(explanation)


@router.post("/decisions", response_model=DecisionOut, status_code=201)
def decide(
    body: DecisionIn,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.DECIDE_LINKS)],
) -> DecisionOut:
    """Record that two records are, or are not, one person; every later resolution run keeps
    to it. Audited."""
    with database.transaction() as session:
        receipt = decide_pair(
            session, actor, body.left_record_id, body.right_record_id, body.decision, body.reason
        )
    return DecisionOut.model_validate(receipt, from_attributes=True)
