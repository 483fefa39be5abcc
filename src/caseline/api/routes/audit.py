"""The audit trail, for the roles that verify it: is it still as it was written?"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel

from caseline.api.deps import Authorized, DatabaseDep, SettingsDep
from caseline.oversight import Actor, Permission, read_checkpoints, verify_audit_trail

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
    with database.transaction() as session:
        report = verify_audit_trail(session, actor=actor, checkpoints=checkpoints)
    return AuditVerification(
        intact=report.intact,
        events_checked=report.events_checked,
        keyed_events=report.keyed_events,
        checkpoints_checked=report.checkpoints_checked,
        first_broken_seq=report.first_broken_seq,
        reason=report.reason,
    )
