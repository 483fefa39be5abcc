"""The signed-in users `benchmarks/load.py` sends at a served Caseline, for locust.

Not run by hand: `load.py` writes the plan (who signs in, whom each reads and works cases
on, which names they type, which queue pairs they decide) and runs locust headless with
this file. Each user signs in through the API (a bearer token), then, with the plan's
think time between requests, searches a name as typed with a slip, reads the profile of a
person of one of their cases (purpose ``case:ID``), takes the next step of that case
(begin the review, confirm the identity, confirm it again), and decides a queue pair.
Every answer is timed by locust and, with its ``Server-Timing``, appended to the plan's
timings file, one JSON line each, which `load.py` reads.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path
from typing import Any

from locust import HttpUser, between, constant, events, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["CASELINE_LOAD_PLAN"]).read_text())
PHASE = PLAN["phase"]
STEPS = ("begin_review", "confirm_identity", "reconfirm_identity")  # an analyst's own steps
_TIMINGS = Path(PLAN["timings"]).open("a")  # noqa: SIM115 - open while locust runs
_TIMINGS_LOCK = threading.Lock()
_NEXT_USER = iter(range(len(PLAN["users"])))


@events.request.add_listener
def _keep_timing(  # type: ignore[no-untyped-def]
    request_type, name, response_time, response_length, response, exception, **_
) -> None:
    server = None
    if response is not None:
        timing = response.headers.get("Server-Timing", "")
        if timing.startswith("app;dur="):
            server = float(timing.removeprefix("app;dur="))
    line = json.dumps({"kind": name, "ms": response_time, "server_ms": server, "t": time.time(),
                       "ok": exception is None, "phase": PHASE})  # fmt: skip
    with _TIMINGS_LOCK:
        _TIMINGS.write(line + "\n")
        _TIMINGS.flush()


class Caseworker(HttpUser):
    """An analyst at work: searching, reading, moving cases on, deciding pairs."""

    wait_time = between(*PLAN["think_seconds"]) if PLAN["think_seconds"][1] else constant(0)

    def on_start(self) -> None:
        mine = PLAN["users"][next(_NEXT_USER) % len(PLAN["users"])]
        self.username: str = mine["username"]
        self.persons: list[str] = list(mine["persons"].get(PHASE, []))
        self.pairs: list[int] = list(mine["pairs"].get(PHASE, []))
        self.random = random.Random(self.username + PHASE)
        response = self.client.post(
            "/api/sessions",
            json={"username": self.username, "password": PLAN["password"]},
            name="sign in",
        )
        self.client.headers["Authorization"] = f"Bearer {response.json()['token']}"
        self.case: dict[str, Any] | None = None
        self.next_steps: list[dict[str, Any]] = []
        self._find_or_open_case()

    @task(5)
    def search(self) -> None:
        self.client.get(
            "/api/persons",
            params={"name": self.random.choice(PLAN["names"]), "purpose": PLAN["purpose"]},
            name="search",
        )

    @task(4)
    def profile(self) -> None:
        if self.case is None:
            self._find_or_open_case()
            return
        self._read_case_person()

    @task(1)
    def case_step(self) -> None:
        if self.case is None:
            self._find_or_open_case()
            return
        step = self._usable_step()
        if step is None:
            self.case = None  # nothing more this analyst may do on it alone
            return
        if any(g["guard"] == "identity_seen" and not g["passed"] for g in step["guards"]):
            self._read_case_person()
        response = self.client.post(
            f"/api/cases/{self.case['id']}/steps",
            params={"as_of": PLAN["as_of"]},
            json={"action": step["action"], "expected_version": self.case["version"],
                  "fields": {"reason": "load test: the records checked"}},
            name="case step",
        )  # fmt: skip
        if response.status_code == 200:
            self._hold(response.json())
        else:
            self.case = None

    @task(1)
    def pair_decision(self) -> None:
        if not self.pairs:
            return
        self.client.post(
            f"/api/review/pairs/{self.pairs.pop(0)}/decision",
            json={"decision": "unsure", "reason": "load test: not enough to tell"},
            name="pair decision",
        )

    def _read_case_person(self) -> None:
        assert self.case is not None
        self.client.get(
            f"/api/persons/{self.case['person_id']}",
            params={"purpose": f"case:{self.case['id']}", "as_of": PLAN["as_of"]},
            name="profile",
        )

    def _usable_step(self) -> dict[str, Any] | None:
        usable = [
            s for s in self.next_steps
            if s["action"] in STEPS and s["yours"]
            and all(g["passed"] or g["guard"] == "identity_seen" for g in s["guards"])
        ]  # fmt: skip
        return usable[0] if usable else None

    def _hold(self, detail: dict[str, Any]) -> None:
        self.case, self.next_steps = detail["case"], detail["next_steps"]

    def _find_or_open_case(self) -> None:
        """The analyst's own open case on one of their persons, or a new one."""
        while self.persons:
            person = self.persons.pop(0)
            opened = self.client.post(
                "/api/cases",
                params={"as_of": PLAN["as_of"]},
                json={"person_id": person, "reason": "load test: a case on a known person"},
                name="case open",
            )
            if opened.status_code != 201:
                continue
            detail = self.client.get(
                f"/api/cases/{opened.json()['id']}", params={"as_of": PLAN["as_of"]},
                name="case read",
            )  # fmt: skip
            if detail.status_code == 200:
                self._hold(detail.json())
                return
