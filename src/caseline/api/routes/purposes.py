"""Purposes in words waiting for a supervisor's countersignature: list, countersign, decline."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from caseline.api.deps import Authorized, DatabaseDep
from caseline.oversight import (
    Actor,
    Permission,
    PurposeRequestSummary,
    countersign_purpose,
    decline_purpose,
    list_pending_purposes,
)

router = APIRouter(prefix="/purposes", tags=["purposes"])
Supervisor = Annotated[Actor, Authorized(Permission.COUNTERSIGN_PURPOSES)]


class PurposeRequestOut(BaseModel):
    id: int
    requested_by: str
    role: str
    scope: str  # person:ID or export:FORMAT
    purpose: str
    requested_at: dt.datetime
    decision: str | None  # None while pending; countersigned or declined
    decided_by: str | None

    @classmethod
    def of(cls, summary: PurposeRequestSummary) -> PurposeRequestOut:
        return cls.model_validate(summary, from_attributes=True)


class Declining(BaseModel):
    reason: str = Field(max_length=256, description="Why the purpose does not allow the read.")


@router.get("", response_model=list[PurposeRequestOut])
def pending(database: DatabaseDep, actor: Supervisor) -> list[PurposeRequestOut]:
    """The purposes in words waiting for a countersignature, oldest first (audited)."""
    with database.transaction() as session:
        return [PurposeRequestOut.of(r) for r in list_pending_purposes(session, actor=actor)]


@router.post("/{request_id}/countersign", response_model=PurposeRequestOut)
def countersign(request_id: int, database: DatabaseDep, actor: Supervisor) -> PurposeRequestOut:
    """Countersign a purpose: its reader may then read its scope with it (not one's own)."""
    with database.transaction() as session:
        return PurposeRequestOut.of(countersign_purpose(session, request_id, actor=actor))


@router.post("/{request_id}/decline", response_model=PurposeRequestOut)
def decline(
    request_id: int, declining: Declining, database: DatabaseDep, actor: Supervisor
) -> PurposeRequestOut:
    """Decline a purpose, saying why; the read stays refused."""
    with database.transaction() as session:
        summary = decline_purpose(session, request_id, actor=actor, reason=declining.reason)
    return PurposeRequestOut.of(summary)
