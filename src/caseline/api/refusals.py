"""Refused requests go to the audit trail, in a transaction of their own (the refused
work's transaction has rolled back): whatever answers the refusal, a JSON error or a page."""

from __future__ import annotations

from fastapi import Request

from caseline.db import Database
from caseline.oversight import Actor, RequestRefused, record_unproven


def record_refusal(request: Request, status: int, reason: str, actor: Actor | None) -> None:
    """Record that ``request`` was refused with ``status`` and why, as ``actor`` (if known)."""
    database: Database = request.app.state.database
    event = RequestRefused(
        path=request.url.path[:64],
        method=request.method,
        status=status,
        reason=reason[:200],
    )
    with database.transaction() as session:
        record_unproven(session, event, actor=actor)
