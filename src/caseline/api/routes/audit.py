"""The audit trail: its events, for auditors, and whether it is still as it was written."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from caseline.api.deps import Authorized, DatabaseDep, SettingsDep, day_query
from caseline.oversight import (
    MAX_TRAIL_PAGE,
    Actor,
    Period,
    Permission,
    TrailFilters,
    read_checkpoints,
    read_trail,
    verify_audit_trail,
)

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditVerification(BaseModel):
    intact: bool
    events_checked: int
    keyed_events: int
    checkpoints_checked: int
    first_broken_seq: int | None
    reason: str | None


@router.get(
    "/verify",
    response_model=AuditVerification,
    responses={
        401: {"description": "Not signed in"},
        403: {"description": "The role may not verify the audit trail"},
    },
)
def verify(
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Authorized(Permission.VERIFY_AUDIT)],
) -> AuditVerification:
    """Recompute the audit trail's keyed hash chain and check it against the workspace's
    checkpoints: ``intact`` is false, with the first broken event and why, if any event was
    altered, inserted, renumbered or removed. Verifying records no event."""
    path = settings.audit_checkpoint_path
    checkpoints = read_checkpoints(path) if path.exists() else []
    with database.reading() as session:
        report = verify_audit_trail(session, actor=actor, checkpoints=checkpoints)
    return AuditVerification(
        intact=report.intact,
        events_checked=report.events_checked,
        keyed_events=report.keyed_events,
        checkpoints_checked=report.checkpoints_checked,
        first_broken_seq=report.first_broken_seq,
        reason=report.reason,
    )


class TrailEventOut(BaseModel):
    seq: int
    occurred_at: dt.datetime
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str | None
    purpose: str | None
    case_id: str | None
    details: dict[str, Any]


class TrailPageOut(BaseModel):
    total: int  # events the filters keep, over every page
    offset: int
    events: list[TrailEventOut]


@router.get("/events", response_model=TrailPageOut)
def events(
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_AUDIT)],
    who: Annotated[str | None, Query(max_length=64, description="An actor's name")] = None,
    what: Annotated[str | None, Query(max_length=64, description="An action")] = None,
    about: Annotated[
        str | None, Query(max_length=64, description="A person, case or other object id")
    ] = None,
    from_: Annotated[
        dt.date | None, day_query("First day (none: since the start)", alias="from")
    ] = None,
    to: Annotated[dt.date | None, day_query("Last day, inclusive (today)")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_TRAIL_PAGE)] = 50,
) -> TrailPageOut:
    """The audit trail as it is, newest first: who did what to which object, when and why,
    narrowed by actor, action, object and days (UTC, both inclusive). Auditors only; the
    read is itself an event (``read_audit_trail``)."""
    filters = TrailFilters(Period.of(from_, to), who=who, what=what, about=about)
    with database.reading() as session:
        page = read_trail(session, actor=actor, filters=filters, offset=offset, limit=limit)
    return TrailPageOut(
        total=page.total,
        offset=page.offset,
        events=[TrailEventOut.model_validate(e, from_attributes=True) for e in page.events],
    )
