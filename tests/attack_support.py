"""Shared pieces of the attack suite (tests/test_attacks_*.py).

Each attack module works on a world of its own: a copy of the resolved world, made once per
module and backend (``attack_world``), so attacks that file requests, open cases or lock
names never touch the shared one. The helpers sign users in as a script or a browser would,
and read back what the audit trail recorded of a refusal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caseline.cases import Lead, find_leads, open_case
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent
from caseline.oversight import Actor
from tests.conftest import PASSWORD, copy_workspace, last_audit_seq

AS_OF = dt.date(2026, 1, 1)
EVIL = "https://evil.example"  # another site altogether
SIBLING = "http://other.testserver"  # same site (testserver), another origin


@contextmanager
def attack_world(
    resolved: tuple[Settings, Database], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, Database]]:
    """A copy of the resolved world for one module's attacks to change."""
    with copy_workspace(*resolved, tmp_path_factory.mktemp("attack-world")) as copy:
        yield copy


def bearer(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Sign ``username`` in as a script does; the header its requests then carry."""
    signed = client.post("/api/sessions", json={"username": username, "password": password})
    assert signed.status_code == 200, signed.text
    return {"Authorization": f"Bearer {signed.json()['token']}"}


def events_since(database: Database, since: int, action: str | None = None) -> list[AuditEvent]:
    """The audit events recorded after event ``since`` (of one action, if named)."""
    query = select(AuditEvent).where(AuditEvent.seq > since).order_by(AuditEvent.seq)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    with database.transaction() as session:
        events = list(session.scalars(query))
        session.expunge_all()
    return events


def assert_refusal_audited(database: Database, since: int, path: str, status: int) -> str:
    """That a refusal of ``path`` with ``status`` was recorded after ``since``; its reason."""
    refused = [
        event
        for event in events_since(database, since, "request_refused")
        if event.object_id == path[:64] and event.details["status"] == status
    ]
    assert refused, f"no request_refused event for {path} ({status}) after event {since}"
    return str(refused[-1].details["reason"])


def free_leads(database: Database, count: int = 2) -> list[Lead]:
    """``count`` leads with no case open, each about a different person."""
    with database.transaction() as session:
        leads = [lead for lead in find_leads(session, AS_OF) if lead.open_case is None]
    chosen: dict[str, Lead] = {}
    for lead in leads:
        chosen.setdefault(lead.person_id, lead)
    assert len(chosen) >= count, f"the world has {len(chosen)} persons with free leads"
    return list(chosen.values())[:count]


def open_case_on(database: Database, lead: Lead, actor: Actor) -> int:
    """Open a case on ``lead`` as ``actor``; its id."""
    with database.transaction() as session:
        return open_case(session, actor=actor, as_of=AS_OF, lead_id=lead.lead_id).id


__all__ = [
    "AS_OF",
    "EVIL",
    "SIBLING",
    "assert_refusal_audited",
    "attack_world",
    "bearer",
    "events_since",
    "free_leads",
    "last_audit_seq",
    "open_case_on",
]
