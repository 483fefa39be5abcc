"""The pair review queue: the latest run's uncertain pairs, where to resume, and deciding one
(same person, different persons or unsure, with a reason). Every call is audited."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from caseline.api.deps import Authorized, DatabaseDep
from caseline.cases import (
    QueueFilter,
    ReviewItem,
    ReviewOutcome,
    decide_review_pair,
    list_review_pairs,
    next_review_pair,
)
from caseline.oversight import Actor, Permission

router = APIRouter(prefix="/review", tags=["review"])
Reviewer = Annotated[Actor, Authorized(Permission.DECIDE_LINKS)]


class ReviewPairOut(BaseModel):
    id: int
    resolution_run_id: int
    rank: int = Field(description="Place in the queue, most uncertain first")
    left_record_id: str
    right_record_id: str
    match_probability: float
    why: str = Field(description="near_threshold or low_assurance")
    left_person_id: str | None
    right_person_id: str | None
    purpose: str = Field(description="The purpose that reads this pair: pair:ID")
    decision: str | None = Field(description="same_person, different_persons, unsure or null")
    reason: str | None
    decided_by: str | None
    decided_at: dt.datetime | None

    @classmethod
    def of(cls, item: ReviewItem) -> ReviewPairOut:
        return cls(
            id=item.id,
            resolution_run_id=item.resolution_run_id,
            rank=item.rank,
            left_record_id=item.left_record_id,
            right_record_id=item.right_record_id,
            match_probability=item.match_probability,
            why=item.why,
            left_person_id=item.left_person_id,
            right_person_id=item.right_person_id,
            purpose=item.purpose,
            decision=item.decision,
            reason=item.reason,
            decided_by=item.decided_by,
            decided_at=item.decided_at,
        )


class ReviewQueueOut(BaseModel):
    resolution_run_id: int | None
    shown: QueueFilter
    total: int = Field(description="Pairs the filter selects")
    undecided: int
    offset: int
    limit: int
    pairs: list[ReviewPairOut]


class ReviewDecisionIn(BaseModel):
    decision: ReviewOutcome
    reason: str = Field(max_length=2000, description="Why, in at least three words (recorded)")


@router.get("/pairs", response_model=ReviewQueueOut)
def queue(
    database: DatabaseDep,
    actor: Reviewer,
    shown: Annotated[QueueFilter, Query(description="Which pairs")] = QueueFilter.UNDECIDED,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ReviewQueueOut:
    """A page of the latest resolution run's review queue, most uncertain first; decided
    pairs carry who decided what, when and why. Audited."""
    with database.transaction() as session:
        found = list_review_pairs(session, actor, shown=shown, offset=offset, limit=limit)
    return ReviewQueueOut(
        resolution_run_id=found.resolution_run_id,
        shown=shown,
        total=found.total,
        undecided=found.undecided,
        offset=found.offset,
        limit=found.limit,
        pairs=[ReviewPairOut.of(item) for item in found.items],
    )


@router.get(
    "/pairs/next",
    response_model=ReviewPairOut,
    responses={204: {"description": "Every pair of the queue is decided"}},
)
def next_pair(database: DatabaseDep, actor: Reviewer) -> ReviewPairOut | Response:
    """Where to resume: the first undecided pair of the queue (204 when none is left)."""
    with database.transaction() as session:
        item = next_review_pair(session, actor)
    if item is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return ReviewPairOut.of(item)


@router.post("/pairs/{pair_id}/decision", response_model=ReviewPairOut)
def decide(
    pair_id: int, body: ReviewDecisionIn, database: DatabaseDep, actor: Reviewer
) -> ReviewPairOut:
    """Decide a queue pair: same person or different persons (a link decision every later
    run keeps to) or unsure; with a reason. 409 if it was decided already. Audited."""
    with database.transaction() as session:
        item = decide_review_pair(session, actor, pair_id, body.decision, body.reason)
    return ReviewPairOut.of(item)
