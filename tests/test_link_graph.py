"""The link graph: a person's records and its neighbours, with the model's weights between.

The neighbours are found again here from the stored name words and addresses of the whole
small world (`_Neighbourhood`), not through the graph's SQL, and the weights are checked
against `explain_pair`. Reads that need a purpose in words countersigned run in the
module's own copy of the resolved world (`world`).
"""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseline.cases import read_person_graph
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, PersonNameWord, PersonRecord, SourceRecord
from caseline.errors import AccessDenied, InputError, NotFoundError
from caseline.oversight import Actor, Role
from caseline.profiles import LinkGraph, read_link_graph
from caseline.profiles.link_graph import build_link_graph
from caseline.resolve import explain_pair, pair_scores
from caseline.resolve.pair_scores import score_record_pairs
from caseline.server import create_app
from tests.conftest import PASSWORD, copy_workspace, last_audit_seq
from tests.purpose_support import countersigned
from tests.web_support import web_sign_in

ANN = Actor("ann", Role.ANALYST)
REASON = "link graph review for the namesake check"


class _Neighbourhood:
    """Who is whose namesake (two shared name words, or the only one) and who shares an
    address (number, street, unit, ZIP), over every person of the world."""

    def __init__(self, session: Session) -> None:
        words: defaultdict[str, set[str]] = defaultdict(set)
        for word, person in session.execute(select(PersonNameWord.word, PersonNameWord.person_id)):
            words[person].add(word)
        at: defaultdict[tuple[str, ...], set[str]] = defaultdict(set)
        self.records: defaultdict[str, list[str]] = defaultdict(list)
        rows = session.execute(
            select(
                PersonRecord.person_id, SourceRecord.record_id, SourceRecord.street_number,
                SourceRecord.street, SourceRecord.unit, SourceRecord.postcode,
            ).join(SourceRecord, SourceRecord.record_id == PersonRecord.record_id)
        )  # fmt: skip
        for person, record, number, street, unit, postcode in rows:
            self.records[person].append(record)
            if number and street:
                at[(number, street, unit or "", postcode or "")].add(person)
        self.kinds: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
        for one, other in itertools.permutations(words, 2):
            if len(words[one] & words[other]) >= min(2, len(words[one])):
                self.kinds[(one, other)].add("namesake")
        for persons in at.values():
            for one, other in itertools.permutations(persons, 2):
                self.kinds[(one, other)].add("household")

        self.near: defaultdict[str, dict[str, set[str]]] = defaultdict(dict)
        for (one, other), kinds in self.kinds.items():
            self.near[one][other] = kinds

    def of(self, person: str) -> dict[str, set[str]]:
        return self.near.get(person, {})

    def distances(self, person: str) -> dict[str, int]:
        seen, queue = {person: 0}, deque([person])
        while queue:
            here = queue.popleft()
            for other in self.of(here):
                if other not in seen:
                    seen[other] = seen[here] + 1
                    queue.append(other)
        return seen


@pytest.fixture(scope="module")
def world(
    resolved: tuple[Settings, Database], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, Database]]:
    """The module's copy of the resolved world: its tests file countersigned purposes."""
    with copy_workspace(*resolved, tmp_path_factory.mktemp("graph-world")) as copy:
        yield copy


@pytest.fixture(scope="module")
def neighbourhood(world: tuple[Settings, Database]) -> _Neighbourhood:
    with world[1].transaction() as session:
        return _Neighbourhood(session)


@pytest.fixture(scope="module")
def focal(neighbourhood: _Neighbourhood) -> str:
    """A person of several records with namesakes and household members both."""
    for person in sorted(neighbourhood.records, key=lambda p: -len(neighbourhood.records[p])):
        kinds = set().union(*neighbourhood.of(person).values())
        if len(neighbourhood.records[person]) >= 7 and kinds == {"namesake", "household"}:
            return person
    raise AssertionError("the small world has no person with both kinds of neighbour")


def _graph(database: Database, person: str, **options: int) -> LinkGraph:
    with database.transaction() as session:
        return build_link_graph(session, person, **options)


def test_the_records_and_neighbours_are_the_persons(
    world: tuple[Settings, Database], neighbourhood: _Neighbourhood, focal: str
) -> None:
    graph = _graph(world[1], focal, hops=1, cap=200)
    assert graph.persons[0].person_id == focal and graph.persons[0].hop == 0
    assert sorted(r.record_id for r in graph.records) == sorted(neighbourhood.records[focal])
    assert all(r.name and r.source for r in graph.records)  # the person read: values shown
    expected = neighbourhood.of(focal)
    assert {p.person_id: set(p.kinds) for p in graph.persons[1:]} == expected
    assert all(not p.expanded and p.hop == 1 for p in graph.persons[1:])
    assert graph.more == {"records": 0, "namesake": 0, "household": 0}
    labels = {e.target if e.target.startswith("person:") else e.source: e for e in graph.edges}
    for person in graph.persons[1:]:
        edge = labels[person.node_id]
        words = {"namesake": "namesake", "household": "same address"}
        assert set(edge.relations) == {words[k] for k in person.kinds}


def test_inside_a_person_the_edges_are_its_maximum_spanning_tree(
    world: tuple[Settings, Database], neighbourhood: _Neighbourhood, focal: str
) -> None:
    graph = _graph(world[1], focal, hops=1, cap=200)
    records = neighbourhood.records[focal]
    inner = [e for e in graph.edges if e.relations == ("same person",)]
    assert len(inner) == len(records) - 1
    with world[1].transaction() as session:
        scores = score_record_pairs(session, records, records)
    tree: defaultdict[str, dict[str, float]] = defaultdict(dict)
    for edge in inner:
        tree[edge.left_record_id][edge.right_record_id] = edge.match_weight
        tree[edge.right_record_id][edge.left_record_id] = edge.match_weight

    def weakest_on_path(start: str, end: str) -> float | None:
        """The weakest edge on the tree's path between two records (None: not joined)."""
        stack: list[tuple[str, str | None, float]] = [(start, None, float("inf"))]
        while stack:
            here, came_from, weakest = stack.pop()
            if here == end:
                return weakest
            stack += [(n, here, min(weakest, w)) for n, w in tree[here].items() if n != came_from]
        return None

    for a, b in itertools.combinations(records, 2):
        weakest = weakest_on_path(a, b)
        assert weakest is not None, "the tree spans every record"
        pair = scores.of(a, b)
        assert pair is not None and pair.match_weight <= weakest + 1e-9  # the cycle property


def test_the_weights_agree_with_explain_pair(
    world: tuple[Settings, Database], neighbourhood: _Neighbourhood, focal: str
) -> None:
    graph = _graph(world[1], focal, hops=1, cap=200)
    inner = [e for e in graph.edges if e.relations == ("same person",)]
    cross = [e for e in graph.edges if e.relations != ("same person",)]
    assert cross, "the focal person has neighbours"
    with world[1].transaction() as session:
        for edge in [*inner[:3], *cross]:
            explained = explain_pair(
                session, ANN, edge.left_record_id, edge.right_record_id, "graph weight check"
            )
            assert edge.match_weight == pytest.approx(explained.match_weight, abs=0.01)
        # A cross edge is the strongest pair of the two persons' records.
        for edge in cross:
            other = next(
                p.person_id for p in graph.persons if edge.target == p.node_id or
                edge.source == p.node_id
            )  # fmt: skip
            pairs = score_record_pairs(
                session, neighbourhood.records[focal], neighbourhood.records[other]
            )
            assert edge.match_weight == max(p.match_weight for p in pairs.pairs.values())
        session.rollback()  # the explanations' audit events: not this test's subject


def test_the_cap_keeps_the_strongest_neighbours_and_counts_the_rest(
    world: tuple[Settings, Database], neighbourhood: _Neighbourhood, focal: str
) -> None:
    full = _graph(world[1], focal, hops=1, cap=200)
    strongest = max(
        (e for e in full.edges if e.relations != ("same person",)), key=lambda e: e.match_weight
    )
    room = len(neighbourhood.records[focal]) + 1 + 1  # the person, its records, one more
    capped = _graph(world[1], focal, hops=1, cap=room)
    assert capped.node_count == room
    shown = capped.persons[1:]
    assert len(shown) == 1 and shown[0].node_id in (strongest.source, strongest.target)
    cut = [p for p in full.persons[1:] if p.person_id != shown[0].person_id]
    for kind in ("namesake", "household"):
        assert capped.more[kind] == sum(kind in p.kinds for p in cut)
    tiny = _graph(world[1], focal, hops=1, cap=len(neighbourhood.records[focal]) - 1)
    assert tiny.node_count == tiny.cap and len(tiny.persons) == 1
    assert tiny.more["records"] == 2 and tiny.more["namesake"] + tiny.more["household"] >= len(
        full.persons[1:]
    )


def test_hops_expand_neighbours_into_their_records_without_their_values(
    world: tuple[Settings, Database], neighbourhood: _Neighbourhood
) -> None:
    person = next(
        p
        for p in sorted(neighbourhood.records)
        if 2 in neighbourhood.distances(p).values() and len(neighbourhood.distances(p)) <= 12
    )
    distances = {p: d for p, d in neighbourhood.distances(person).items() if d <= 2}
    graph = _graph(world[1], person, hops=2, cap=200)
    assert {p.person_id: p.hop for p in graph.persons} == distances
    for p in graph.persons:
        assert p.expanded == (p.hop < 2)
    for record in graph.records:
        if record.person_id != person:
            assert distances[record.person_id] == 1
            assert (record.name, record.date_of_birth, record.address) == (None, None, None)
    drawn = {r.record_id for r in graph.records}
    expected_records = {r for p, d in distances.items() if d < 2 for r in neighbourhood.records[p]}
    assert drawn == expected_records
    assert _graph(world[1], person, hops=1, cap=200).persons != graph.persons


def test_bad_hops_cap_and_person_are_refused_with_where(world: tuple[Settings, Database]) -> None:
    _, database = world
    with database.transaction() as session:
        person = session.scalar(select(PersonRecord.person_id).limit(1))
        assert person is not None
        with pytest.raises(InputError) as hops:
            build_link_graph(session, person, hops=4)
        assert hops.value.where == "hops"
        with pytest.raises(InputError) as cap:
            build_link_graph(session, person, cap=1)
        assert cap.value.where == "cap"
        with pytest.raises(NotFoundError):
            build_link_graph(session, "P-NO-SUCH")
        with pytest.raises(AccessDenied):
            read_link_graph(session, person, actor=ANN, purpose=None)
        with pytest.raises(AccessDenied):
            read_link_graph(session, person, actor=Actor("aud", Role.AUDITOR), purpose=REASON)


@pytest.fixture(scope="module")
def client(world: tuple[Settings, Database]) -> Iterator[TestClient]:
    settings, database = world
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def _token(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_the_api_reads_the_graph_for_a_countersigned_purpose_and_audits_it(
    client: TestClient, world: tuple[Settings, Database], focal: str
) -> None:
    _, database = world
    ann = _token(client, "ann")
    url = f"/api/persons/{focal}/graph"
    assert client.get(url, params={"purpose": REASON}).status_code == 401
    assert client.get(url, headers=ann).status_code == 422  # no purpose at all
    assert client.get(url, params={"purpose": "x"}, headers=ann).status_code == 403
    waiting = client.get(url, params={"purpose": REASON}, headers=ann)
    assert waiting.status_code == 403 and "countersign" in waiting.json()["detail"]
    countersigned(database, ANN, focal, REASON)
    auditor = _token(client, "aud")  # a role that reads no persons
    assert client.get(url, params={"purpose": REASON}, headers=auditor).status_code == 403
    assert client.get(url, params={"purpose": REASON, "hops": 4}, headers=ann).status_code == 422
    assert client.get(url, params={"purpose": REASON, "cap": 201}, headers=ann).status_code == 422
    before = last_audit_seq(database)
    response = client.get(url, params={"purpose": REASON, "hops": 1, "cap": 60}, headers=ann)
    assert response.status_code == 200, response.text
    body = response.json()
    neighbours = [p["person_id"] for p in body["persons"][1:]]
    assert body["persons"][0]["person_id"] == focal and neighbours
    assert {e["source"] for e in body["edges"]} | {e["target"] for e in body["edges"]} <= {
        *(p["node_id"] for p in body["persons"]),
        *(r["node_id"] for r in body["records"]),
    }
    with database.transaction() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > before).order_by(AuditEvent.seq)
        ).all()
    reads = [e for e in events if e.action == "read_person_graph"]
    assert len(reads) == 1
    assert reads[0].object_id == focal and reads[0].purpose == REASON
    assert reads[0].actor == "ann"
    assert reads[0].details["neighbours"] == neighbours
    assert reads[0].details["hops"] == 1 and reads[0].details["cap"] == 60


def test_the_api_says_which_person_is_unknown(client: TestClient) -> None:
    response = client.get(
        "/api/persons/P-NO-SUCH/graph", params={"purpose": REASON}, headers=_token(client, "ann")
    )
    assert response.status_code == 404
    assert "P-NO-SUCH" in response.json()["detail"]


def test_scoring_in_several_passes_gives_the_same_scores(
    world: tuple[Settings, Database],
    neighbourhood: _Neighbourhood,
    focal: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records = neighbourhood.records[focal]
    with world[1].transaction() as session:
        once = score_record_pairs(session, records, records)
        monkeypatch.setattr(pair_scores, "PAIRS_PER_PASS", 3 * len(records))
        split = score_record_pairs(session, records, records)
    assert len(once.pairs) == len(records) * (len(records) - 1) // 2
    assert split.pairs == once.pairs


def test_counting_every_frequency_gives_the_weights_of_counting_the_shared_ones(
    world: tuple[Settings, Database],
    neighbourhood: _Neighbourhood,
    focal: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records = neighbourhood.records[focal]
    with world[1].transaction() as session:
        shared = score_record_pairs(session, records, records)
        monkeypatch.setattr(pair_scores, "_reads_uncounted", lambda settings, frame: True)
        every = score_record_pairs(session, records, records)
    assert shared.pairs.keys() == every.pairs.keys()
    for key, pair in shared.pairs.items():
        assert pair.match_weight == pytest.approx(every.pairs[key].match_weight, abs=1e-9)


def test_scoring_an_empty_side_scores_nothing(world: tuple[Settings, Database]) -> None:
    with world[1].transaction() as session:
        some = session.scalars(select(PersonRecord.record_id).limit(2)).all()
        assert score_record_pairs(session, some, []).pairs == {}
        assert len(score_record_pairs(session, some, some).pairs) == 1
        count = session.scalar(select(func.count()).select_from(PersonRecord))
        assert count and count > 2


def test_a_read_that_rolls_back_leaves_no_event(
    world: tuple[Settings, Database], focal: str
) -> None:
    _, database = world
    lee, reason = Actor("lee", Role.LEGAL), "link graph read that fails afterwards"
    countersigned(database, lee, focal, reason)
    before = last_audit_seq(database)
    with pytest.raises(RuntimeError), database.transaction() as session:
        graph = read_person_graph(session, focal, actor=lee, purpose=reason)
        assert graph.neighbour_ids
        raise RuntimeError("the work after the read fails")
    assert last_audit_seq(database) == before
    with database.transaction() as session:
        read_person_graph(session, focal, actor=lee, purpose=reason)
    assert last_audit_seq(database) == before + 1


def test_the_api_never_shows_a_neighbours_values(
    client: TestClient, world: tuple[Settings, Database], focal: str
) -> None:
    response = client.get(
        f"/api/persons/{focal}/graph",
        params={"purpose": REASON, "hops": 2, "cap": 200},
        headers=_token(client, "ann"),
    )
    assert response.status_code == 200, response.text
    records = response.json()["records"]
    theirs = [r for r in records if r["person_id"] != focal]
    mine = [r for r in records if r["person_id"] == focal]
    assert theirs and mine and all(r["name"] for r in mine)
    assert all((r["name"], r["date_of_birth"], r["address"]) == (None,) * 3 for r in theirs)


def test_the_page_asks_for_a_purpose_and_says_which_field_is_wrong(
    world: tuple[Settings, Database], focal: str
) -> None:
    settings, database = world
    with TestClient(create_app(settings, database)) as browser:
        web_sign_in(browser, "ann", PASSWORD)
        refused = browser.get(f"/persons/{focal}/graph")
        assert refused.status_code == 403 and 'name="purpose"' in refused.text
        wrong = browser.get(f"/persons/{focal}/graph", params={"purpose": REASON, "cap": "lots"})
        assert wrong.status_code == 422 and "cap" in wrong.text and "whole number" in wrong.text
        page = browser.get(f"/persons/{focal}/graph", params={"purpose": REASON, "cap": "7"})
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert "+" in page.text and "more records of this person" in page.text
        assert page.text.count("data-explain href") + page.text.count("data-explain>") >= 1
        # An unknown person is answered as its profile is (a page that keeps the header).
        unknown = browser.get("/persons/P-NO-SUCH/graph", params={"purpose": REASON})
        profile = browser.get("/persons/P-NO-SUCH", params={"purpose": REASON})
        assert unknown.status_code == profile.status_code >= 400 and "<header>" in unknown.text
