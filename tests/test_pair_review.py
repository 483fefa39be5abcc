"""The pair review queue: what a resolution run stores for reviewers, deciding and resuming,
the ``pair:ID`` purpose, explanations read for work, and the waterfall that adds up.

Tests that decide work on their own copy of the resolved world (`mutable_resolved`); the
others only read the shared one (reads add audit events, which the shared world allows).
"""

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caseline.cases import (
    QueueFilter,
    ReviewItem,
    decide_review_pair,
    explain_for_work,
    list_review_pairs,
    next_review_pair,
    open_case,
    read_person,
)
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import (
    AuditEvent,
    LinkDecision,
    Person,
    PersonRecord,
    ResolutionRun,
    ReviewPair,
)
from caseline.errors import AccessDenied, InputError, NotFoundError, StateError
from caseline.oversight import Actor, Role
from caseline.resolve import Decision, decide_pair
from caseline.resolve.model import match_weight
from caseline.resolve.review_pairs import LOW_ASSURANCE_BELOW, REVIEW_CAP, probability_band
from caseline.server import create_app
from caseline.web.review import waterfall
from tests.conftest import PASSWORD, last_audit_seq

ANN = Actor("ann", Role.ANALYST)
SAM = Actor("sam", Role.SUPERVISOR)
LEE = Actor("lee", Role.LEGAL)
AUD = Actor("aud", Role.AUDITOR)
REASON = "same passport and birth date"
AS_OF = dt.date(2026, 1, 1)


def _queue(database: Database, shown: QueueFilter = QueueFilter.ALL) -> list[ReviewItem]:
    with database.transaction() as session:
        return list(list_review_pairs(session, ANN, shown=shown, limit=200).items)


def _two_persons_pair(items: list[ReviewItem]) -> ReviewItem:
    """A queue pair whose records two different persons hold (resolution kept them apart)."""
    return next(i for i in items if i.left_person_id != i.right_person_id)


def test_a_run_stores_pairs_near_the_threshold_and_the_weakest_links(
    resolved: tuple[Settings, Database],
) -> None:
    settings, database = resolved
    low, high = probability_band(settings.match_threshold)
    with database.transaction() as session:
        rows = session.scalars(select(ReviewPair).order_by(ReviewPair.rank)).all()
        holder = dict(session.execute(select(PersonRecord.record_id, PersonRecord.person_id)).all())
        persons = {p.person_id: p for p in session.scalars(select(Person))}
    assert 0 < len(rows) <= REVIEW_CAP
    assert [r.rank for r in rows] == list(range(len(rows)))
    assert len({(r.left_record_id, r.right_record_id) for r in rows}) == len(rows)
    near = [r for r in rows if r.why == "near_threshold"]
    weakest = [r for r in rows if r.why == "low_assurance"]
    assert near and weakest
    assert all(low <= r.match_probability <= high for r in near)
    # Both sides of the threshold: links the run made and links it did not.
    assert {r.match_probability >= settings.match_threshold for r in near} == {True, False}
    for row in rows:
        assert row.left_record_id < row.right_record_id
        assert (row.left_person_id, row.right_person_id) == (
            holder[row.left_record_id],
            holder[row.right_record_id],
        )
    low_assured = {
        p.person_id for p in persons.values()
        if p.record_count > 1 and p.assurance is not None and p.assurance < LOW_ASSURANCE_BELOW
    }  # fmt: skip
    for row in weakest:
        assert row.left_person_id == row.right_person_id
        person = persons[row.left_person_id]
        assert person.person_id in low_assured
        # The stored link is the one whose weight the person's assurance was read from.
        assert person.assurance_evidence is not None
        recorded = person.assurance_evidence["weakest_link_weight"]
        assert match_weight(row.match_probability) == pytest.approx(recorded, abs=0.01)
    assert {r.left_person_id for r in weakest} <= low_assured
    assert len(weakest) >= len(low_assured) - 1  # a person held only by a reviewer has none


def test_decided_pairs_leave_the_undecided_list_and_the_queue_resumes_at_the_first_undecided(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    undecided = _queue(database, QueueFilter.UNDECIDED)
    assert len(undecided) >= 4
    first, second, third, fourth = undecided[:4]
    since = last_audit_seq(database)
    with database.transaction() as session:
        same = decide_review_pair(session, ANN, first.id, "same_person", REASON)
        unsure = decide_review_pair(session, SAM, third.id, "unsure", "cannot tell from these")
        # A decision made outside the queue covers the pair too.
        decide_pair(
            session, ANN, fourth.right_record_id, fourth.left_record_id,
            Decision.DIFFERENT_PERSONS, "different fathers' names on file",
        )  # fmt: skip
    assert (same.decision, same.decided_by, same.reason) == ("same_person", "ann", REASON)
    assert unsure.decision == "unsure" and unsure.decided_by == "sam"
    assert same.decided_at is not None
    with database.transaction() as session:
        resumed = next_review_pair(session, ANN)
        links = session.scalars(select(LinkDecision).order_by(LinkDecision.id)).all()
        reviewed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "review_pair", AuditEvent.seq > since)
        ).all()
    assert resumed is not None and resumed.id == second.id
    left_now = {i.id for i in _queue(database, QueueFilter.UNDECIDED)}
    assert {first.id, third.id, fourth.id}.isdisjoint(left_now) and second.id in left_now
    decided = {i.id: i for i in _queue(database, QueueFilter.DECIDED)}
    assert decided.keys() >= {first.id, third.id, fourth.id}
    assert decided[fourth.id].decision == "different_persons"
    assert decided[fourth.id].decided_by == "ann"
    # Same person became a link decision later runs keep; unsure did not.
    pairs = [(d.left_record_id, d.right_record_id, d.decision) for d in links]
    assert (first.left_record_id, first.right_record_id, "same_person") in pairs
    assert all((d[0], d[1]) != (third.left_record_id, third.right_record_id) for d in pairs)
    assert sorted(e.object_id for e in reviewed) == sorted([str(first.id), str(third.id)])
    assert {e.details["decision"] for e in reviewed} == {"same_person", "unsure"}


def test_a_decision_needs_a_known_outcome_a_reason_and_an_undecided_pair(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    item = _queue(database, QueueFilter.UNDECIDED)[0]
    for outcome, reason, where in [
        ("maybe", REASON, "decision"),
        ("same_person", "ok", "reason"),
        ("same_person", "two words", "reason"),
    ]:
        with pytest.raises(InputError) as refused, database.transaction() as session:
            decide_review_pair(session, ANN, item.id, outcome, reason)
        assert refused.value.where == where
    with pytest.raises(AccessDenied), database.transaction() as session:
        decide_review_pair(session, LEE, item.id, "same_person", REASON)
    with database.transaction() as session:
        decide_review_pair(session, ANN, item.id, "different_persons", REASON)
    with pytest.raises(StateError, match="decided"), database.transaction() as session:
        decide_review_pair(session, SAM, item.id, "same_person", REASON)


def test_a_pair_purpose_reads_its_own_pair_and_no_other(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    items = _queue(database)
    mine = _two_persons_pair(items)
    theirs = {mine.left_person_id, mine.right_person_id}
    other = next(i for i in items if {i.left_person_id, i.right_person_id}.isdisjoint(theirs))
    with database.transaction() as session:
        explained = explain_for_work(
            session, ANN, mine.left_record_id, mine.right_record_id, mine.purpose, AS_OF
        )
    assert {explained.left_record_id, explained.right_record_id} == {
        mine.left_record_id,
        mine.right_record_id,
    }
    # Either side's person may be read for the pair, and no one else.
    for person_id in (mine.left_person_id, mine.right_person_id):
        assert person_id is not None
        with database.transaction() as session:
            profile = read_person(session, person_id, actor=ANN, purpose=mine.purpose, as_of=AS_OF)
        assert profile.person_id == person_id
    refusals = [
        (ANN, other.left_record_id, other.right_record_id, mine.purpose),
        (ANN, mine.left_record_id, other.right_record_id, mine.purpose),
        (LEE, mine.left_record_id, mine.right_record_id, mine.purpose),  # reviews no links
    ]
    for actor, left, right, purpose in refusals:
        with pytest.raises(AccessDenied), database.transaction() as session:
            explain_for_work(session, actor, left, right, purpose, AS_OF)
    assert other.left_person_id is not None
    with pytest.raises(AccessDenied, match="holds no record"), database.transaction() as session:
        read_person(session, other.left_person_id, actor=ANN, purpose=mine.purpose, as_of=AS_OF)


@pytest.mark.parametrize(
    "purpose",
    ["x", "pair:abc", "case:abc", "just looking at these two", "pair:999999"],
    ids=["junk", "pair without a number", "case without a number", "reason not countersigned",
         "no such pair"],
)  # fmt: skip
def test_an_explanation_is_refused_without_a_purpose_bound_to_work(
    resolved: tuple[Settings, Database], purpose: str
) -> None:
    _, database = resolved
    item = _two_persons_pair(_queue(database))
    since = last_audit_seq(database)
    refusal = NotFoundError if purpose == "pair:999999" else AccessDenied
    with pytest.raises(refusal), database.transaction() as session:
        explain_for_work(session, ANN, item.left_record_id, item.right_record_id, purpose)
    with database.transaction() as session:
        explained = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "explain_pair", AuditEvent.seq > since)
        ).all()
    assert explained == []


def test_a_case_on_one_person_explains_their_pairs_and_not_anothers(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    items = _queue(database)
    mine = _two_persons_pair(items)
    foreign = next(
        i for i in items
        if mine.left_person_id not in (i.left_person_id, i.right_person_id)
    )  # fmt: skip
    assert mine.left_person_id is not None
    with database.transaction() as session:
        case = open_case(
            session, actor=ANN, as_of=AS_OF, person_id=mine.left_person_id,
            reason="reported at this address by a neighbour",
        )  # fmt: skip
    purpose = f"case:{case.id}"
    since = last_audit_seq(database)
    with database.transaction() as session:
        explain_for_work(session, ANN, mine.right_record_id, mine.left_record_id, purpose, AS_OF)
    with pytest.raises(AccessDenied), database.transaction() as session:
        explain_for_work(
            session, ANN, foreign.left_record_id, foreign.right_record_id, purpose, AS_OF
        )
    with database.transaction() as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "explain_pair", AuditEvent.seq > since)
            .order_by(AuditEvent.seq)
        ).all()
    assert [(e.purpose, e.case_id) for e in events] == [(purpose, str(case.id))]


def test_the_waterfall_adds_up_and_labels_every_level(resolved: tuple[Settings, Database]) -> None:
    _, database = resolved
    items = _queue(database)
    for item in (items[0], _two_persons_pair(items)):
        with database.transaction() as session:
            x = explain_for_work(
                session, ANN, item.left_record_id, item.right_record_id, item.purpose, AS_OF
            )
        assert x.prior_weight + sum(t.total_weight for t in x.terms) == pytest.approx(
            x.match_weight, abs=0.01
        )
        assert x.match_probability == pytest.approx(item.match_probability, abs=1e-4)
        chart = waterfall(x)
        steps = [b for b in chart.bars if b.kind != "total"]
        (total,) = [b for b in chart.bars if b.kind == "total"]
        assert sum(b.weight for b in steps) == pytest.approx(total.weight, abs=0.01)
        assert steps[-1].end == pytest.approx(total.end, abs=0.01)
        assert chart.low < min(0.0, x.threshold_weight) and chart.high > x.threshold_weight
        for term in x.terms:
            expected = (
                "missing" if term.comparison_vector_value < 0
                else "different" if term.comparison_vector_value == 0
                else "exact" if term.comparison_vector_value == term.levels - 1
                else "close"
            )  # fmt: skip
            assert term.agreement == expected


@pytest.fixture(scope="module")
def client(resolved: tuple[Settings, Database]) -> Iterator[TestClient]:
    settings, database = resolved
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def _token(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_the_queue_over_http(client: TestClient, resolved: tuple[Settings, Database]) -> None:
    ann, aud = _token(client, "ann"), _token(client, "aud")
    page = client.get("/api/review/pairs", params={"limit": 5}, headers=ann)
    assert page.status_code == 200, page.text
    body = page.json()
    assert len(body["pairs"]) == 5 and body["undecided"] == body["total"] >= 5
    assert [p["rank"] for p in body["pairs"]] == sorted(p["rank"] for p in body["pairs"])
    following = client.get("/api/review/pairs", params={"limit": 5, "offset": 5}, headers=ann)
    assert {p["id"] for p in following.json()["pairs"]}.isdisjoint(p["id"] for p in body["pairs"])
    resumed = client.get("/api/review/pairs/next", headers=ann)
    assert resumed.status_code == 200 and resumed.json()["id"] == body["pairs"][0]["id"]
    first = body["pairs"][0]
    explained = client.get(
        "/api/pairs/explain",
        params={"left": first["left_record_id"], "right": first["right_record_id"],
                "purpose": first["purpose"]},
        headers=ann,
    )  # fmt: skip
    assert explained.status_code == 200, explained.text
    junk = client.get(
        "/api/pairs/explain",
        params={"left": first["left_record_id"], "right": first["right_record_id"],
                "purpose": "looking around today"},
        headers=ann,
    )  # fmt: skip
    assert junk.status_code == 403
    assert client.get("/api/review/pairs", headers=aud).status_code == 403
    refused = client.post(
        f"/api/review/pairs/{first['id']}/decision",
        json={"decision": "same_person", "reason": "ok"},
        headers=ann,
    )
    assert refused.status_code == 422 and refused.json()["where"] == "reason"
    bad = client.get("/api/review/pairs", params={"shown": "some"}, headers=ann)
    assert bad.status_code == 422


def test_an_incremental_run_leaves_the_full_runs_queue_current(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    """An incremental run adds a resolution run that stores no queue (it places new records
    with the full run's model): the queue and its pair purposes stay as they were."""
    _, database = mutable_resolved
    before = _queue(database, QueueFilter.UNDECIDED)
    with database.transaction() as session:
        last = session.scalars(select(ResolutionRun).order_by(ResolutionRun.id.desc())).first()
        assert last is not None
        session.add(
            ResolutionRun(engine=last.engine, model_path=last.model_path, threshold=last.threshold)
        )
    after = _queue(database, QueueFilter.UNDECIDED)
    assert [i.id for i in after] == [i.id for i in before]
    item = _two_persons_pair(after)
    with database.transaction() as session:
        explained = explain_for_work(
            session, ANN, item.left_record_id, item.right_record_id, item.purpose, AS_OF
        )
    assert explained.resolution_run_id == last.id + 1
