"""Reading a person without a purpose bound to one's own work: none, junk, another user's
case, a closed case, a case or a lead about someone else, a reason no supervisor (or only
the reader) countersigned, one declined, one countersigned for another person or another
reader. Each is tried on the profile and the person's history over the API and on the web
profile page; each must be refused with 403, audited, and read nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from caseline.cases import Thresholds, take_step
from caseline.config import Settings
from caseline.db import Database
from caseline.oversight import (
    Actor,
    Role,
    countersign_purpose,
    decline_purpose,
    seek_countersign,
)
from caseline.server import create_app
from tests.attack_support import (
    AS_OF,
    assert_refusal_audited,
    attack_world,
    bearer,
    events_since,
    free_leads,
    last_audit_seq,
    open_case_on,
)
from tests.conftest import PASSWORD
from tests.web_support import web_sign_in

pytestmark = pytest.mark.attack

ANN, SAM = Actor("ann", Role.ANALYST), Actor("sam", Role.SUPERVISOR)
WAITING = "a letter to this address came back unopened"
OWN = "my own look at this person for the audit"
DECLINED = "just curious about this one person"
SIGNED = "the field office asked about this person"


@dataclass
class World:
    settings: Settings
    database: Database
    case_id: int  # ann's open case on person_id
    closed_case_id: int  # ann's case on closed_person_id, closed by sam
    lead_id: str  # a free lead on other_person_id
    person_id: str
    other_person_id: str
    closed_person_id: str
    clients: dict[str, object] = field(default_factory=dict)

    def app(self) -> TestClient:
        if "app" not in self.clients:
            self.clients["app"] = TestClient(create_app(self.settings, self.database))
        client = self.clients["app"]
        assert isinstance(client, TestClient)
        return client

    def headers(self, username: str) -> dict[str, str]:
        key = f"bearer:{username}"
        if key not in self.clients:
            self.clients[key] = bearer(self.app(), username)
        found = self.clients[key]
        assert isinstance(found, dict)
        return found

    def browser(self, username: str) -> TestClient:
        key = f"web:{username}"
        if key not in self.clients:
            self.clients[key] = web_sign_in(TestClient(self.app().app), username, PASSWORD)
        found = self.clients[key]
        assert isinstance(found, TestClient)
        return found


@pytest.fixture(scope="module")
def world(
    resolved: tuple[Settings, Database], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with attack_world(resolved, tmp_path_factory) as (settings, database):
        first, second, third = free_leads(database, 3)
        case_id = open_case_on(database, first, ANN)
        closed = open_case_on(database, third, ANN)
        with database.transaction() as session:
            take_step(
                session, closed, "close", actor=SAM, expected_version=1,
                fields={"reason": "closed before the attack"},
                thresholds=Thresholds.of(settings), as_of=AS_OF,
            )  # fmt: skip
            person = f"person:{second.person_id}"
            assert seek_countersign(session, ANN, person, WAITING) is not None
            assert seek_countersign(session, SAM, person, OWN) is not None
            declined = seek_countersign(session, ANN, person, DECLINED)
            signed = seek_countersign(session, ANN, f"person:{first.person_id}", SIGNED)
            assert declined is not None and signed is not None
            decline_purpose(session, declined, actor=SAM, reason="no reason to look here")
            countersign_purpose(session, signed, actor=SAM)
        yield World(
            settings, database, case_id, closed, second.lead_id,
            first.person_id, second.person_id, third.person_id,
        )  # fmt: skip


def _attempts(world: World) -> dict[str, tuple[str, str, str]]:
    """Each attempt: who reads, whom, with what purpose."""
    return {
        "none": ("ann", world.person_id, ""),
        "dots": ("ann", world.person_id, "....."),
        "junk-words": ("ann", world.person_id, "a b c d e f g h i j"),
        "junk-letters": ("ann", world.person_id, "x" * 40),
        "junk-case-ref": ("ann", world.person_id, "case:1 OR 1=1"),
        "foreign-users-case": ("sam", world.person_id, f"case:{world.case_id}"),
        "closed-case": ("ann", world.closed_person_id, f"case:{world.closed_case_id}"),
        "case-about-another-person": ("ann", world.other_person_id, f"case:{world.case_id}"),
        "lead-about-another-person": ("ann", world.person_id, f"lead:{world.lead_id}"),
        "lead-by-a-role-that-triages-none": (
            "lee",
            world.other_person_id,
            f"lead:{world.lead_id}",
        ),
        "uncountersigned-reason": ("ann", world.other_person_id, WAITING),
        "reason-countersigned-by-oneself": ("sam", world.other_person_id, OWN),
        "declined-reason": ("ann", world.other_person_id, DECLINED),
        "countersigned-for-another-person": ("ann", world.other_person_id, SIGNED),
        "countersigned-for-another-reader": ("lee", world.person_id, SIGNED),
    }


ATTEMPTS = [
    "none", "dots", "junk-words", "junk-letters", "junk-case-ref", "foreign-users-case",
    "closed-case", "case-about-another-person", "lead-about-another-person",
    "lead-by-a-role-that-triages-none", "uncountersigned-reason",
    "reason-countersigned-by-oneself", "declined-reason", "countersigned-for-another-person",
    "countersigned-for-another-reader",
]  # fmt: skip


# The web profile page answers a refused purpose with its purpose form (403) and records the
# refusal itself, as the server does for every other refusal.
SURFACES = ["api-profile", "api-history", "web-profile"]


def _countersign_own(world: World) -> None:
    """Sam's own reason: the countersignature he tries to give it himself is refused."""
    client, sam = world.app(), world.headers("sam")
    own = [p for p in client.get("/api/purposes", headers=sam).json() if p["purpose"] == OWN]
    assert len(own) == 1 and own[0]["requested_by"] == "sam"
    since = last_audit_seq(world.database)
    refused = client.post(f"/api/purposes/{own[0]['id']}/countersign", headers=sam)
    assert refused.status_code == 403 and "someone other" in refused.json()["detail"]
    assert_refusal_audited(world.database, since, f"/api/purposes/{own[0]['id']}/countersign", 403)


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_a_read_without_a_purpose_of_ones_own_work_is_refused(
    world: World, attempt: str, surface: str
) -> None:
    reader, person_id, purpose = _attempts(world)[attempt]
    if attempt == "reason-countersigned-by-oneself":
        _countersign_own(world)
    params = {"purpose": purpose, "as_of": AS_OF.isoformat()}
    since = last_audit_seq(world.database)
    if surface == "web-profile":
        path = f"/persons/{person_id}"
        answer = world.browser(reader).get(path, params=params)
        assert answer.status_code == 403, answer.text
        assert 'id="person-name"' not in answer.text
    else:
        path = f"/api/persons/{person_id}" + ("/events" if surface == "api-history" else "")
        answer = world.app().get(path, params=params, headers=world.headers(reader))
        assert answer.status_code == 403, answer.text
        assert re.search(r"purpose|case|lead|countersign", answer.json()["detail"])
    read = events_since(world.database, since, "read_person")
    read += events_since(world.database, since, "read_person_events")
    assert not read, [(e.actor, e.action, e.object_id) for e in read]
    assert_refusal_audited(world.database, since, path, 403)
