"""Password guessing against the sign-in of the API and of the web form: a run of wrong
passwords then the right one, fast runs, one client trying many names, names varied in
case, unknown and disabled names. The right password after a run must be refused (429,
with when to try again), the locks audited, and an unknown or disabled name must be
answered exactly like a known one with a wrong password, so guessing learns no names."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import SignInThrottle
from caseline.oversight import Role, create_user, disable_user
from caseline.server import create_app
from tests.attack_support import attack_world, events_since, last_audit_seq
from tests.conftest import ADMIN, PASSWORD
from tests.web_support import login_token

pytestmark = pytest.mark.attack

NAMES = ["guess-api", "guess-web", "guess-fast", "guess-case", "guess-known", "guess-off"]
_clients = count(1)
Answer = tuple[int, str, str | None]  # status, what the client is told, Retry-After
SignIn = Callable[[TestClient, str, str], Answer]


@dataclass
class Target:
    app: FastAPI
    database: Database
    settings: Settings

    def client(self, address: str | None = None) -> TestClient:
        """A client at an address of its own, so each attack's client count starts at 0."""
        return TestClient(self.app, client=(address or f"10.66.{next(_clients)}.1", 50000))

    def wait_out_the_backoff(self) -> None:
        """A patient guesser waits between tries: the wait passes, the locks do not."""
        with self.database.transaction() as session:
            for row in session.scalars(select(SignInThrottle)):
                row.last_failure_at = row.last_failure_at - dt.timedelta(minutes=2)

    def locks(self, since: int) -> list[str]:
        return [str(e.object_id) for e in events_since(self.database, since, "sign_in_locked")]

    def failures(self, since: int) -> list[tuple[str, str]]:
        return [
            (str(e.object_id), str(e.details["reason"]))
            for e in events_since(self.database, since, "sign_in_failed")
        ]


@pytest.fixture(scope="module")
def target(
    resolved: tuple[Settings, Database], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    with attack_world(resolved, tmp_path_factory) as (settings, database):
        with database.transaction() as session:
            for name in NAMES:
                create_user(session, name, Role.ANALYST, PASSWORD, actor=ADMIN)
            disable_user(session, "guess-off", actor=ADMIN)
        yield Target(create_app(settings, database), database, settings)


def _api(client: TestClient, name: str, password: str) -> Answer:
    answer = client.post("/api/sessions", json={"username": name, "password": password})
    return answer.status_code, answer.json().get("detail", ""), answer.headers.get("retry-after")


def _web(client: TestClient, name: str, password: str) -> Answer:
    client.headers["Origin"] = "http://testserver"
    data = {"username": name, "password": password, "login_token": login_token(client)}
    answer = client.post("/login", data=data, follow_redirects=False)
    found = re.search(r"(unknown user or wrong password|too many failed sign-ins)", answer.text)
    detail = found.group(1) if found else answer.text[:200]
    return answer.status_code, detail, answer.headers.get("Retry-After")


def _run_then_right(target: Target, name: str, sign_in: SignIn) -> tuple[Answer, Answer]:
    """As many wrong passwords as lock the name, each after the wait; then the right one."""
    client, since = target.client(), last_audit_seq(target.database)
    for n in range(target.settings.sign_in_max_failures):
        status, detail, _ = sign_in(client, name, f"wrong guess number {n}")
        assert detail == "unknown user or wrong password" and status in {401, 403}, detail
        target.wait_out_the_backoff()
    right = sign_in(client, name, PASSWORD)
    elsewhere = sign_in(target.client(), name, PASSWORD)  # the name is locked, not the client
    assert f"account:{name}" in target.locks(since)
    failed = target.failures(since)
    assert failed.count((name, "wrong_credentials")) == target.settings.sign_in_max_failures
    assert (name, "throttled") in failed
    return right, elsewhere


def api_wrong_run_then_right(target: Target) -> None:
    right, elsewhere = _run_then_right(target, "guess-api", _api)
    for status, detail, retry_after in (right, elsewhere):
        assert status == 429 and "too many failed sign-ins" in detail
        assert retry_after is not None and int(retry_after) >= 60  # the lockout, not a backoff


def web_wrong_run_then_right(target: Target) -> None:
    right, elsewhere = _run_then_right(target, "guess-web", _web)
    for status, detail, retry_after in (right, elsewhere):
        assert status == 429 and detail == "too many failed sign-ins"
        assert retry_after is not None and int(retry_after) >= 60  # the page says it too


def fast_run_is_slowed(target: Target) -> None:
    """Guesses as fast as the client can send them: from the third, a try that comes before
    its wait is over is turned away unchecked (how many depends on the machine's speed)."""
    client, since = target.client(), last_audit_seq(target.database)
    answers = [_api(client, "guess-fast", f"quick guess {n}") for n in range(6)]
    statuses = [a[0] for a in answers]
    assert statuses[:2] == [403, 403] and statuses[2] == 429, statuses
    assert all(a[2] is not None and int(a[2]) >= 1 for a in answers if a[0] == 429)
    checked = target.failures(since).count(("guess-fast", "wrong_credentials"))
    assert checked == statuses.count(403) < len(answers)


def name_case_variants_share_one_lock(target: Target) -> None:
    """GUESS-CASE, Guess-Case and ' guess-case ' are one name: varying it dodges nothing."""
    client, since = target.client(), last_audit_seq(target.database)
    variants = ["guess-case", "GUESS-CASE", "Guess-Case", " guess-case ", "gUESS-cASE"]
    for n, variant in enumerate(variants[: target.settings.sign_in_max_failures]):
        assert _api(client, variant, f"wrong guess {n}")[0] == 403
        target.wait_out_the_backoff()
    assert _api(target.client(), "guess-case", PASSWORD)[0] == 429
    assert "account:guess-case" in target.locks(since)


def many_names_from_one_client(target: Target) -> None:
    """One client sprays one password over many names: the client is locked, whatever name
    it tries next, while the names' owners sign in from elsewhere."""
    address, since = f"10.66.{next(_clients)}.9", last_audit_seq(target.database)
    client = target.client(address)
    for n in range(target.settings.sign_in_client_max_failures):
        assert _api(client, f"sprayed-name-{n}", "Spring2026!")[0] == 403
        target.wait_out_the_backoff()
    status, detail, retry_after = _api(client, "ann", PASSWORD)
    assert status == 429 and "too many" in detail and retry_after is not None
    assert _api(target.client(), "ann", PASSWORD)[0] == 200  # ann herself is not locked out
    locks = target.locks(since)
    assert [lock for lock in locks if lock.startswith("client:")] == [f"client:{address}"]


def _answers(target: Target, name: str, tries: int) -> list[tuple[int, str]]:
    client, answers = target.client(), []
    for n in range(tries):
        status, detail, _ = _api(client, name, f"wrong guess {n}")
        answers.append((status, detail.split(": try again")[0]))  # the wait left may differ
        target.wait_out_the_backoff()
    return answers


def unknown_name_answered_like_known(target: Target) -> None:
    tries = target.settings.sign_in_max_failures + 1
    since = last_audit_seq(target.database)
    known = _answers(target, "guess-known", tries)
    unknown = _answers(target, "nobody-by-this-name", tries)
    assert known == unknown
    assert known[-1][0] == 429
    locks = target.locks(since)
    assert "account:guess-known" in locks and "account:nobody-by-this-name" in locks


def disabled_name_answered_like_wrong_password(target: Target) -> None:
    """The right password of a disabled user gets the answer of a wrong one."""
    since = last_audit_seq(target.database)
    disabled = _api(target.client(), "guess-off", PASSWORD)
    wrong = _api(target.client(), "guess-known-not", "a wrong password here")
    assert disabled[:2] == wrong[:2] == (403, "unknown user or wrong password")
    assert ("guess-off", "disabled") in target.failures(since)


def web_unknown_name_answered_like_known(target: Target) -> None:
    known = _web(target.client(), "sam", "another wrong one")
    unknown = _web(target.client(), "nobody-else-here", "another wrong one")
    assert known[:2] == unknown[:2] == (401, "unknown user or wrong password")


ATTACKS: dict[str, Callable[[Target], None]] = {
    "api-wrong-run-then-right": api_wrong_run_then_right,
    "web-wrong-run-then-right": web_wrong_run_then_right,
    "fast-run-slowed": fast_run_is_slowed,
    "name-case-variants": name_case_variants_share_one_lock,
    "many-names-one-client": many_names_from_one_client,
    "unknown-name-like-known": unknown_name_answered_like_known,
    "disabled-name-like-wrong": disabled_name_answered_like_wrong_password,
    "web-unknown-name-like-known": web_unknown_name_answered_like_known,
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_guessing_is_refused(target: Target, attack: str) -> None:
    ATTACKS[attack](target)
    with target.database.transaction() as session:  # every count is kept, none lost
        assert session.scalars(select(SignInThrottle.key)).all()
