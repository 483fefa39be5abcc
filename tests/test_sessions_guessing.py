"""Password guessing: failures slow down and then lock the name and the client, audited,
with the same answer for a name that exists and one that does not; argon2id hashes, old
scrypt ones upgraded; weak passwords refused; names case-insensitive."""

import datetime as dt
import time

import pytest
from sqlalchemy import select

from caseline.db import Database
from caseline.db.models import AuditEvent, User
from caseline.errors import AccessDenied, InputError
from caseline.oversight import (
    Actor,
    Role,
    SessionPolicy,
    SignInThrottled,
    ThrottlePolicy,
    actor_for_token,
    check_new_password,
    create_user,
    sign_in,
)
from tests.conftest import ADMIN

PASSWORD = "a long password"
STRICT = SessionPolicy(throttle=ThrottlePolicy(max_failures=3, client_max_failures=50))


@pytest.fixture
def ann(database: Database) -> Database:
    with database.transaction() as session:
        create_user(session, "ann", Role.ANALYST, PASSWORD, actor=ADMIN)
    return database


def _events(database: Database, action: str) -> list[AuditEvent]:
    with database.transaction() as session:
        query = select(AuditEvent).where(AuditEvent.action == action)
        return list(session.scalars(query.order_by(AuditEvent.seq)))


def _try(database: Database, name: str, password: str, client: str = "10.0.0.1") -> str:
    """What the client is told: 'ok', the refusal's kind and message."""
    try:
        sign_in(database, name, password, policy=STRICT, client=client)
    except SignInThrottled as exc:
        return f"throttled: {exc}"
    except AccessDenied as exc:
        return f"denied: {exc}"
    return "ok"


def _unthrottle(database: Database) -> None:
    """Let the wait between tries pass without sleeping through it."""
    from caseline.db.models import SignInThrottle

    with database.transaction() as session:
        for row in session.scalars(select(SignInThrottle)):
            row.last_failure_at = row.last_failure_at - dt.timedelta(minutes=2)


def test_guessing_locks_the_account_and_the_right_password_then_fails(ann: Database) -> None:
    answers = []
    for n in range(3):
        answers.append(_try(ann, "ann", f"guess number {n}"))
        _unthrottle(ann)
    assert answers == ["denied: unknown user or wrong password"] * 3
    assert _try(ann, "ann", PASSWORD).startswith("throttled: too many failed sign-ins")
    assert _try(ann, "ann", PASSWORD, client="10.9.9.9").startswith("throttled")
    failed = _events(ann, "sign_in_failed")
    assert [(e.actor, e.object_id, e.details["reason"]) for e in failed] == [
        ("anonymous", "ann", "wrong_credentials")
    ] * 3 + [("anonymous", "ann", "throttled")] * 2
    assert [e.object_id for e in _events(ann, "sign_in_locked")] == ["account:ann"]


def test_a_second_failure_makes_the_next_try_wait(ann: Database) -> None:
    assert _try(ann, "ann", "first wrong guess").startswith("denied")
    assert _try(ann, "ann", "second wrong guess").startswith("denied")
    assert (
        _try(ann, "ann", PASSWORD) == "throttled: too many failed sign-ins: try again in 1 seconds"
    )
    time.sleep(1.05)
    assert _try(ann, "ann", PASSWORD) == "ok"


def test_an_unknown_name_is_answered_and_locked_like_a_known_one(ann: Database) -> None:
    known, unknown = [], []
    for n in range(4):
        known.append(_try(ann, "ann", f"guess number {n}", client="10.0.0.1"))
        unknown.append(_try(ann, "nobody", f"guess number {n}", client="10.0.0.2"))
        _unthrottle(ann)

    def kind(answer: str) -> str:  # the wait left differs by the time the test took
        return answer.split(" try again")[0]

    assert [kind(a) for a in known] == [kind(a) for a in unknown]
    assert known[-1].startswith("throttled")


def test_an_unknown_name_costs_about_as_much_as_a_wrong_password(ann: Database) -> None:
    policy = SessionPolicy(throttle=ThrottlePolicy(max_failures=1000, client_max_failures=1000))

    def cost(name: str) -> float:
        start = time.perf_counter()
        for n in range(3):
            with pytest.raises(AccessDenied):
                sign_in(ann, name, f"wrong guess {n}", policy=policy, client=f"c{name}{n}")
            _unthrottle(ann)
        return time.perf_counter() - start

    known, unknown = cost("ann"), cost("nobody")
    assert 0.4 < known / unknown < 2.5


def test_one_client_guessing_many_names_is_locked(ann: Database) -> None:
    policy = SessionPolicy(throttle=ThrottlePolicy(max_failures=50, client_max_failures=4))
    for n in range(4):
        with pytest.raises(AccessDenied):
            sign_in(ann, f"name{n}", "wrong password guess", policy=policy, client="10.6.6.6")
        _unthrottle(ann)
    with pytest.raises(SignInThrottled):
        sign_in(ann, "ann", PASSWORD, policy=policy, client="10.6.6.6")
    sign_in(ann, "ann", PASSWORD, policy=policy, client="10.7.7.7")
    assert "client:10.6.6.6" in [e.object_id for e in _events(ann, "sign_in_locked")]


def test_a_right_password_clears_the_account_count(ann: Database) -> None:
    assert _try(ann, "ann", "one wrong guess").startswith("denied")
    assert _try(ann, "ann", PASSWORD) == "ok"
    for n in range(2):
        assert _try(ann, "ann", f"guess again {n}").startswith("denied")
        _unthrottle(ann)
    assert _try(ann, "ann", PASSWORD) == "ok"  # 2 failures, not 3: the first was forgiven


def test_new_hashes_are_argon2id_and_old_scrypt_ones_are_upgraded(ann: Database) -> None:
    import hashlib
    import secrets

    with ann.transaction() as session:
        user = session.scalar(select(User).where(User.username == "ann"))
        assert user is not None and user.password_hash.startswith("$argon2id$")
        salt = secrets.token_bytes(16)
        digest = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1)
        user.password_hash = f"scrypt${salt.hex()}${digest.hex()}"
    token = sign_in(ann, "ann", PASSWORD, policy=STRICT)
    with ann.transaction() as session:
        assert actor_for_token(session, token) == Actor("ann", Role.ANALYST)
        user = session.scalar(select(User).where(User.username == "ann"))
        assert user is not None and user.password_hash.startswith("$argon2id$")
    sign_in(ann, "ann", PASSWORD, policy=STRICT)


@pytest.mark.parametrize(
    ("password", "complaint"),
    [
        ("12345678", "at least 12"),
        ("123456789012", "too common"),
        ("Password2024!", "too common"),
        ("qwerty uiop 123", "too common"),
        ("aaaaaaaaaaaaaaaa", "repeat"),
        ("my name is Ann_Lee!", "username"),
        ("ANN_LEE", "at least 12"),
    ],
)
def test_weak_passwords_are_refused(password: str, complaint: str) -> None:
    with pytest.raises(InputError, match=complaint):
        check_new_password(password, "ann_lee")


def test_a_sound_password_is_accepted() -> None:
    check_new_password("tidal marble forty kites", "ann_lee")


def test_names_are_case_insensitive(ann: Database) -> None:
    with ann.transaction() as session, pytest.raises(InputError, match="exists"):
        create_user(session, "ANN", Role.ADMIN, PASSWORD, actor=ADMIN)
    token = sign_in(ann, "  Ann ", PASSWORD, policy=STRICT)
    with ann.transaction() as session:
        assert actor_for_token(session, token) == Actor("ann", Role.ANALYST)
