"""Disputes and redress: filed by a legal representative about one of a person's records,
taken up by another for review, upheld or rejected with a reason. Every call is audited."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from caseline.api.deps import Authorized, DatabaseDep
from caseline.cases import (
    DisputeKind,
    DisputeState,
    DisputeSummary,
    decide_dispute,
    file_dispute,
    list_disputes,
    read_dispute,
    start_review,
)
from caseline.oversight import Actor, Permission

router = APIRouter(tags=["disputes"])


class DisputeIn(BaseModel):
    person_id: str = Field(max_length=16)
    record_id: str = Field(max_length=32)
    kind: DisputeKind
    grounds: str = Field(max_length=2000, description="Why, in words (10 characters or more)")
    document: str | None = Field(
        None, max_length=256, description="The document it rests on (a status dispute's)"
    )
    field: str | None = Field(None, max_length=64, description="A value dispute's field")
    value: str | None = Field(
        None, max_length=256, description="The right value, or the status the document shows"
    )


class DecisionIn(BaseModel):
    uphold: bool
    reason: str = Field(max_length=2000, description="Why, in words (10 characters or more)")


class DisputeOut(BaseModel):
    id: int
    person_id: str
    record_id: str
    record_source: str
    kind: DisputeKind
    state: DisputeState
    grounds: str
    document: str | None
    field: str | None
    claimed_value: str | None
    filed_by: str
    filed_at: dt.datetime
    reviewer: str | None
    review_started_at: dt.datetime | None
    decided_at: dt.datetime | None
    reason: str | None
    effect: dict[str, Any]
    open_cases: list[int]  # the person's open cases, flagged for re-checking

    @classmethod
    def of(cls, dispute: DisputeSummary) -> DisputeOut:
        return cls.model_validate(dispute, from_attributes=True)


@router.post("/disputes", response_model=DisputeOut, status_code=status.HTTP_201_CREATED)
def file_one(
    body: DisputeIn,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.FILE_DISPUTES)],
) -> DisputeOut:
    """File a dispute about one of a person's records: ``not_me``, ``not_my_address``,
    ``status`` (with the document and the status it shows) or ``value`` (a field and its
    right value). The record leaves every score while the dispute is open."""
    with database.transaction() as session:
        filed = file_dispute(
            session,
            actor,
            person_id=body.person_id,
            record_id=body.record_id,
            kind=body.kind,
            grounds=body.grounds,
            document=body.document,
            field=body.field,
            value=body.value,
        )
    return DisputeOut.of(filed)


@router.get("/disputes", response_model=list[DisputeOut])
def disputes(
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_DISPUTES)],
    state: Annotated[DisputeState | None, Query(description="Only disputes in this state")] = None,
    person_id: Annotated[str | None, Query(max_length=16, description="Only this person's")] = None,
) -> list[DisputeOut]:
    """Disputes, newest first."""
    with database.transaction() as session:
        found = list_disputes(session, actor, state=state, person_id=person_id)
    return [DisputeOut.of(d) for d in found]


@router.get("/disputes/{dispute_id}", response_model=DisputeOut)
def dispute(
    dispute_id: int,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_DISPUTES)],
) -> DisputeOut:
    """One dispute, with the person's open cases."""
    with database.transaction() as session:
        return DisputeOut.of(read_dispute(session, actor, dispute_id))


@router.post("/disputes/{dispute_id}/review", response_model=DisputeOut)
def review(
    dispute_id: int,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.REVIEW_DISPUTES)],
) -> DisputeOut:
    """Take a filed dispute up for review (403 for whoever filed it; 409 unless filed)."""
    with database.transaction() as session:
        return DisputeOut.of(start_review(session, actor, dispute_id))


@router.post("/disputes/{dispute_id}/decision", response_model=DisputeOut)
def decide(
    dispute_id: int,
    body: DecisionIn,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.REVIEW_DISPUTES)],
) -> DisputeOut:
    """Uphold or reject a dispute under review, as its reviewer, with a reason. Upholding
    adds the new facts it asks for (``effect`` says which); nothing is deleted."""
    with database.transaction() as session:
        decided = decide_dispute(session, actor, dispute_id, uphold=body.uphold, reason=body.reason)
    return DisputeOut.of(decided)
