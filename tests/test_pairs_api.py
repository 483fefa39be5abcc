"""Pairs through the HTTP API: explanations that add up, and reviewers' decisions that hold.

An explanation shows two records' values, a read of the persons holding them, so its purpose
must bind to work on one of them: these tests state a reason in words that a supervisor
countersigned for the person holding the left record (`_explain`), in the module's own copy
of the resolved world (`world`). Tests that ingest, decide or resolve again do it on a copy
of their own (`mutable_resolved`, served by `own_client`).
"""

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, LinkDecision, PersonRecord, ResolutionRun
from caseline.ingest import ingest_file
from caseline.oversight import Actor, Role
from caseline.oversight.countersign import countersigned as countersigned_now
from caseline.resolve import explain_pair, resolve_persons
from caseline.resolve.comparisons import IDENTIFIERS, typo_key_column
from caseline.resolve.features import add_features
from caseline.resolve.records import load_model_frame
from caseline.server import create_app
from caseline.sources import record_id_for
from tests.conftest import OPERATOR, PASSWORD, copy_workspace, last_audit_seq
from tests.purpose_support import countersigned

PURPOSE = {"purpose": "link review for case 31"}
ANN = Actor("ann", Role.ANALYST)
# Columns that, shared by two persons' records, could put a pair of them in one block (and
# so give them a score strong enough to veto a must-link).
BLOCKING_COLUMNS = (
    "date_of_birth", "given_sound", "family_sound", "address_key", "postcode",
    "ssn_hash", "itin_hash", "a_number_hash", "passport_hash", "licence_hash",
)  # fmt: skip


@pytest.fixture(scope="module")
def world(
    resolved: tuple[Settings, Database], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, Database]]:
    """The module's copy of the resolved world: its tests file countersigned purposes."""
    with copy_workspace(*resolved, tmp_path_factory.mktemp("pairs-world")) as copy:
        yield copy


@pytest.fixture(scope="module")
def client(world: tuple[Settings, Database]) -> Iterator[TestClient]:
    settings, database = world
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def _signed_in(client: TestClient) -> dict[str, dict[str, str]]:
    out = {}
    for username in ("ann", "aud", "lee"):
        response = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        out[username] = {"Authorization": f"Bearer {response.json()['token']}"}
    return out


@pytest.fixture(scope="module")
def tokens(client: TestClient) -> dict[str, dict[str, str]]:
    return _signed_in(client)


@pytest.fixture
def own_client(mutable_resolved: tuple[Settings, Database]) -> Iterator[TestClient]:
    """A client on the test's own copy of the resolved world."""
    settings, database = mutable_resolved
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


@pytest.fixture
def own_tokens(own_client: TestClient) -> dict[str, dict[str, str]]:
    return _signed_in(own_client)


def _records(database: Database) -> pd.DataFrame:
    """Every record as the model compares it, with the person it belongs to now."""
    with database.transaction() as session:
        frame = add_features(load_model_frame(session))
        members = dict(
            session.execute(select(PersonRecord.record_id, PersonRecord.person_id)).all()
        )
    frame["person"] = frame["unique_id"].map(members)
    return frame


def _same_person_pair(frame: pd.DataFrame) -> tuple[str, str]:
    """Two records of one person that agree on name, date of birth and address."""
    keys = ["person", "full_name", "date_of_birth", "address_key"]
    groups = frame.dropna(subset=keys).groupby(keys)["unique_id"].apply(sorted)
    left, right = next(ids for ids in groups if len(ids) >= 2)[:2]
    return left, right


def _relatives_pair(frame: pd.DataFrame) -> tuple[str, str]:
    """Two records of different persons with one family name, other given names and dates."""
    named = frame.dropna(subset=["given_first", "family_name", "date_of_birth"])
    for _family, group in named.groupby("family_name"):
        rows = list(group.itertuples())
        for i, a in enumerate(rows):
            for b in rows[i + 1 :]:
                if (
                    a.person != b.person
                    and a.given_sound != b.given_sound
                    and a.date_of_birth != b.date_of_birth
                ):
                    return a.unique_id, b.unique_id
    raise AssertionError("no two relatives in the world")


def _allowed(database: Database, reader: Actor, record_id: str) -> None:
    """PURPOSE countersigned for ``reader`` to read the person holding ``record_id``."""
    with database.transaction() as session:
        person_id = session.scalar(
            select(PersonRecord.person_id).where(PersonRecord.record_id == record_id)
        )
        assert person_id is not None, f"record {record_id} is in no person"
        done = countersigned_now(session, reader, f"person:{person_id}", PURPOSE["purpose"])
    if done is None:
        countersigned(database, reader, person_id, PURPOSE["purpose"])


def _explain(
    client: TestClient,
    headers: dict[str, str],
    left: str,
    right: str,
    *,
    database: Database,
    reader: Actor,
) -> dict:
    _allowed(database, reader, left)
    response = client.get(
        "/api/pairs/explain", params={"left": left, "right": right, **PURPOSE}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def _audit(database: Database, action: str, after: int) -> list[AuditEvent]:
    """The events of ``action`` written after event ``after``: the test's own."""
    with database.transaction() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.seq > after)
                .order_by(AuditEvent.seq)
            )
        )


def test_an_explanation_adds_up_to_its_match_weight_and_probability(
    client: TestClient, tokens: dict[str, dict[str, str]], world: tuple[Settings, Database]
) -> None:
    left, right = _same_person_pair(_records(world[1]))
    since = last_audit_seq(world[1])
    explanation = _explain(client, tokens["ann"], left, right, database=world[1], reader=ANN)
    terms = explanation["terms"]
    weights = [t["weight"] + (t["term_frequency_weight"] or 0) for t in terms]
    total = explanation["prior_weight"] + sum(weights)
    assert total == pytest.approx(explanation["match_weight"], abs=1e-6)
    assert [t["total_weight"] for t in terms] == weights
    odds = 2 ** explanation["match_weight"]
    assert explanation["match_probability"] == pytest.approx(odds / (1 + odds), abs=1e-9)
    name = next(t for t in terms if t["comparison"] == "name")
    assert name["level"] == "same name"
    assert name["term_frequency_weight"] != 0 and name["term_frequencies"]["left"] > 0
    full_name = next(v for v in name["values"] if v["column"] == "full_name")
    assert full_name["left"] == full_name["right"]
    reads = [e for e in _audit(world[1], "explain_pair", since) if e.details["left"] == left]
    assert reads and reads[-1].actor == "ann" and reads[-1].purpose == PURPOSE["purpose"]


def test_two_records_of_one_person_score_above_the_threshold_and_relatives_below(
    client: TestClient, tokens: dict[str, dict[str, str]], world: tuple[Settings, Database]
) -> None:
    frame = _records(world[1])
    lee = Actor("lee", Role.LEGAL)
    same_pair = _same_person_pair(frame)
    same = _explain(client, tokens["lee"], *same_pair, database=world[1], reader=lee)
    assert same["above_threshold"] and same["match_probability"] >= same["threshold"]
    relatives_pair = _relatives_pair(frame)
    relatives = _explain(client, tokens["ann"], *relatives_pair, database=world[1], reader=ANN)
    assert not relatives["above_threshold"]
    assert relatives["match_weight"] < relatives["threshold_weight"]


def _mistyped_identifier_pair(frame: pd.DataFrame) -> tuple[str, str, str]:
    """Two records of one person whose numbers of one kind differ by a slip of the pen:
    (left, right, the identifier's column)."""
    for identifier in IDENTIFIERS:
        typo_column = typo_key_column(identifier)
        held = frame.dropna(subset=[identifier, "person"])
        for _person, group in held.groupby("person"):
            rows = list(zip(group["unique_id"], group[identifier], group[typo_column], strict=True))
            for i, (left, number, keys) in enumerate(rows):
                for right, other, other_keys in rows[i + 1 :]:
                    if number != other and set(keys) & set(other_keys):
                        return left, right, identifier
    raise AssertionError("no mistyped identifier in the world")


def test_a_mistyped_identifier_counts_for_a_match(
    client: TestClient, tokens: dict[str, dict[str, str]], world: tuple[Settings, Database]
) -> None:
    left, right, identifier = _mistyped_identifier_pair(_records(world[1]))
    explanation = _explain(client, tokens["ann"], left, right, database=world[1], reader=ANN)
    term = next(t for t in explanation["terms"] if t["comparison"] == identifier)
    assert term["level"] == "one character mistyped, dropped or exchanged"
    assert term["weight"] > 0
    # The keys are hashes; the explanation shows the compared numbers' hashes only.
    assert [v["column"] for v in term["values"]] == [identifier]


def test_records_with_nothing_to_block_on_are_explained_too(
    own_client: TestClient,
    own_tokens: dict[str, dict[str, str]],
    mutable_resolved: tuple[Settings, Database],
    tmp_path: Path,
) -> None:
    """Two hearings that name a person and nothing else (no date of birth, no address)
    hold no blocking key: an explanation scores the pair it is given rather than blocking
    the two records, which failed on a list column neither holds (the endpoint answered
    500). The two records are ingested, not resolved: the service explains them, and the API,
    whose purpose must bind to a person holding one of them, says they are in none yet."""
    settings, database = mutable_resolved
    hearings = tmp_path / "court.csv"
    hearings.write_text(
        "hearing_id,case_number,a_number,respondent_name,date_of_birth,hearing_date,"
        "hearing_type,outcome,departure_deadline,address\n"
        'H900000000001,90000001,,"QUILLFEATHER, ODALYS",,2024-01-02,MASTER,CONTINUED,,\n'
        'H900000000002,90000002,,"QUILLFEATHER, ODALYS",,2024-02-03,MASTER,CONTINUED,,\n'
    )
    with database.transaction() as session:
        ingest_file(
            session, hearings, "court", identifier_key=settings.identifier_key, actor=OPERATOR
        )
    left, right = (record_id_for("court", key) for key in ("H900000000001", "H900000000002"))
    frame = _records(database)
    assert frame.set_index("unique_id").loc[[left, right], "context_keys"].isna().all()
    with database.transaction() as session:
        explanation = explain_pair(session, ANN, left, right, PURPOSE["purpose"])
    terms = {t.comparison: t for t in explanation.terms}
    assert terms["name"].level == "same name"
    assert terms["date_of_birth"].weight == 0  # no dates to compare: the null level
    response = own_client.get(
        "/api/pairs/explain", params={"left": left, "right": right, **PURPOSE},
        headers=own_tokens["ann"],
    )  # fmt: skip
    assert response.status_code == 422 and response.json()["where"] == "left"
    assert "in no person" in response.json()["detail"]


@pytest.mark.parametrize(
    ("user", "status"), [(None, 401), ("aud", 403)], ids=["no session", "auditor"]
)
def test_explanations_and_decisions_need_a_reviewer(
    client: TestClient,
    tokens: dict[str, dict[str, str]],
    world: tuple[Settings, Database],
    user: str | None,
    status: int,
) -> None:
    left, right = _same_person_pair(_records(world[1]))
    headers = tokens[user] if user else {}
    explained = client.get(
        "/api/pairs/explain", params={"left": left, "right": right, **PURPOSE}, headers=headers
    )
    decision = {"left_record_id": left, "right_record_id": right, "decision": "same_person"}
    decided = client.post(
        "/api/pairs/decisions", json={**decision, "reason": "same passport"}, headers=headers
    )
    assert (explained.status_code, decided.status_code) == (status, status)


def test_legal_may_explain_but_not_decide(
    client: TestClient, tokens: dict[str, dict[str, str]], world: tuple[Settings, Database]
) -> None:
    left, right = _same_person_pair(_records(world[1]))
    decided = client.post(
        "/api/pairs/decisions",
        json={"left_record_id": left, "right_record_id": right, "decision": "same_person",
              "reason": "same passport"},
        headers=tokens["lee"],
    )  # fmt: skip
    assert decided.status_code == 403 and "legal" in decided.json()["detail"]


@pytest.mark.parametrize("purpose", [None, "x"], ids=["missing", "too short"])
def test_an_explanation_needs_a_purpose(
    client: TestClient,
    tokens: dict[str, dict[str, str]],
    world: tuple[Settings, Database],
    purpose: str | None,
) -> None:
    left, right = _same_person_pair(_records(world[1]))
    params = {"left": left, "right": right} | ({"purpose": purpose} if purpose else {})
    response = client.get("/api/pairs/explain", params=params, headers=tokens["ann"])
    assert response.status_code == 422


def test_an_explanations_purpose_must_be_work_on_one_of_the_two_persons(
    client: TestClient, tokens: dict[str, dict[str, str]], world: tuple[Settings, Database]
) -> None:
    """A reason in words allows the read once a supervisor countersigned it for the person
    holding either record; before, and for a pair of other persons, it is refused."""
    frame = _records(world[1])
    left, right = _same_person_pair(frame)
    other_left, other_right = _relatives_pair(frame)
    purpose = {"purpose": "link review for the benefits fraud unit"}

    def explained(a: str, b: str) -> int:
        params = {"left": a, "right": b, **purpose}
        return client.get("/api/pairs/explain", params=params, headers=tokens["ann"]).status_code

    assert explained(left, right) == 403
    with world[1].transaction() as session:
        person_id = session.scalar(
            select(PersonRecord.person_id).where(PersonRecord.record_id == right)
        )
    assert person_id is not None
    countersigned(world[1], Actor("ann", Role.ANALYST), person_id, purpose["purpose"])
    assert explained(left, right) == 200
    assert explained(other_left, other_right) == 403


def test_an_unknown_record_is_named(
    client: TestClient, tokens: dict[str, dict[str, str]], world: tuple[Settings, Database]
) -> None:
    left, _ = _same_person_pair(_records(world[1]))
    _allowed(world[1], Actor("ann", Role.ANALYST), left)
    response = client.get(
        "/api/pairs/explain",
        params={"left": left, "right": "R-NO-SUCH-RECORD", **PURPOSE},
        headers=tokens["ann"],
    )
    assert response.status_code == 422
    assert response.json()["where"] == "right" and "R-NO-SUCH-RECORD" in response.json()["detail"]
    decided = client.post(
        "/api/pairs/decisions",
        json={"left_record_id": "R-NO-SUCH-RECORD", "right_record_id": left,
              "decision": "different_persons", "reason": "not the same man"},
        headers=tokens["ann"],
    )  # fmt: skip
    assert decided.status_code == 422 and decided.json()["where"] == "left_record_id"


def test_a_decision_needs_a_known_kind_and_a_reason(
    client: TestClient, tokens: dict[str, dict[str, str]], world: tuple[Settings, Database]
) -> None:
    left, right = _same_person_pair(_records(world[1]))
    pair = {"left_record_id": left, "right_record_id": right}
    maybe = {**pair, "decision": "maybe", "reason": "it looks like him"}
    terse = {**pair, "decision": "same_person", "reason": "ok"}
    for body in (maybe, terse):
        response = client.post("/api/pairs/decisions", json=body, headers=tokens["ann"])
        assert response.status_code == 422, body


def _unrelated_persons(frame: pd.DataFrame) -> tuple[str, str]:
    """A record from each of two persons whose records share no value any block joins on."""
    persons = frame.groupby("person")
    values = {
        person: {(c, v) for c in BLOCKING_COLUMNS for v in group[c] if v is not None}
        for person, group in persons
    }
    ordered = sorted(values)
    for i, one in enumerate(ordered):
        for other in ordered[i + 1 :]:
            if not values[one] & values[other]:
                return (
                    persons.get_group(one)["unique_id"].min(),
                    persons.get_group(other)["unique_id"].min(),
                )
    raise AssertionError("no two unrelated persons in the world")


def test_decisions_are_stored_audited_and_kept_by_the_next_run(
    own_client: TestClient,
    own_tokens: dict[str, dict[str, str]],
    mutable_resolved: tuple[Settings, Database],
) -> None:
    settings, database = mutable_resolved
    frame = _records(database)
    since = last_audit_seq(database)
    split_left, split_right = _same_person_pair(frame)
    join_left, join_right = _unrelated_persons(frame)
    person_of = dict(zip(frame["unique_id"], frame["person"], strict=True))
    assert person_of[split_left] == person_of[split_right]
    assert person_of[join_left] != person_of[join_right]
    ids = []
    for left, right, decision in (
        (split_left, split_right, "different_persons"),
        (join_left, join_right, "same_person"),
    ):
        response = own_client.post(
            "/api/pairs/decisions",
            json={"left_record_id": left, "right_record_id": right, "decision": decision,
                  "reason": "checked the originals"},
            headers=own_tokens["ann"],
        )  # fmt: skip
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    with database.transaction() as session:
        stored = session.scalars(select(LinkDecision).where(LinkDecision.id.in_(ids))).all()
        model_path = session.scalars(
            select(ResolutionRun.model_path).order_by(ResolutionRun.id.desc())
        ).first()
    assert sorted(d.decision for d in stored) == ["different_persons", "same_person"]
    assert all(d.decided_by == "ann" for d in stored)
    audited = {e.object_id for e in _audit(database, "decide_link", since) if e.actor == "ann"}
    assert {str(i) for i in ids} <= audited
    assert model_path is not None

    resolve_persons(
        database,
        models_dir=settings.models_dir,
        threshold=settings.match_threshold,
        model_path=Path(model_path),
        actor=OPERATOR,
    )
    after = _records(database)
    person_after = dict(zip(after["unique_id"], after["person"], strict=True))
    assert person_after[split_left] != person_after[split_right]
    assert person_after[join_left] == person_after[join_right]

    countersigned(database, Actor("ann", Role.ANALYST), person_of[split_left], PURPOSE["purpose"])
    countersigned(database, Actor("lee", Role.LEGAL), person_of[join_right], PURPOSE["purpose"])
    response = own_client.get(
        f"/api/persons/{person_of[split_left]}/events", params=PURPOSE, headers=own_tokens["ann"]
    )
    assert response.status_code == 200, response.text
    splits = [e for e in response.json() if e["kind"] == "split"]
    assert splits and splits[-1]["person_id"] == person_of[split_left]
    assert {person_after[split_left], person_after[split_right]} <= set(
        splits[-1]["related_person_ids"]
    )
    merged = own_client.get(
        f"/api/persons/{person_of[join_right]}/events", params=PURPOSE, headers=own_tokens["lee"]
    )
    assert merged.status_code == 200, merged.text
    merges = merged.json()
    assert any(
        e["kind"] == "merge" and person_of[join_right] in e["related_person_ids"] for e in merges
    )
    reads = [e for e in _audit(database, "read_person_events", since) if e.actor == "ann"]
    assert reads and reads[-1].object_id == person_of[split_left]
    refused = own_client.get(
        f"/api/persons/{person_of[split_left]}/events", params=PURPOSE, headers=own_tokens["aud"]
    )
    assert refused.status_code == 403
