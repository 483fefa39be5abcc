"""A person's link graph: its records and the persons near it, with the match weights between.

Nodes are the focal person's records (with their values: the read is of that person), the
neighbour persons (namesakes and household members, see `graph_neighbours`) shown by name,
record count, sources and id only and, as the hops allow, their records (by id and source,
never their values). ``hops`` counts steps from person to neighbour person: at 1 the
neighbours are single nodes; at 2 their records are drawn too, with their own neighbours
as single nodes; and so on.

Edges carry the match weight of the latest run's model, scored in one pass per hop
(`resolve.pair_scores`, the weights `explain_pair` shows):

- within a person, the links that hold it together: the **maximum spanning tree** of the
  pairwise weights of its records. Resolution joins records strongest link first, so the
  tree's n-1 edges are the strongest chain of evidence that puts each record in the person,
  where every pair (n(n-1)/2 of them) would bury it;
- between two persons, the **strongest cross pair** of their records: the best evidence
  there is that they are one person, and so why resolution did not link them ("why not
  linked"); labelled namesake, same address, or both.

The node cap keeps the page readable: the focal person's records first, then neighbours
hop by hop, strongest pair first (of at most MAX_CANDIDATES per hop, the most related
first, and twice as many as there is room for, or MIN_POOL); those cut are counted per
kind ("+k more").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import Person, PersonRecord, SourceRecord
from caseline.errors import InputError, NotFoundError
from caseline.oversight import Actor, PersonGraphRead, permit
from caseline.profiles.disputed import disputed_facts
from caseline.profiles.graph_neighbours import (
    HOUSEHOLD,
    NAMESAKE,
    PersonFacts,
    person_facts,
    records_of,
    related_persons,
)
from caseline.resolve.pair_scores import PairScores, ScoredPair, score_record_pairs

MAX_HOPS = 3
DEFAULT_HOPS = 1
MIN_CAP, DEFAULT_CAP, MAX_CAP = 5, 60, 200
MAX_CANDIDATES = 100  # neighbours scored per hop at most; past them, counted as more
MIN_POOL = 20  # neighbours scored per hop at least, while there is room for one
SAME_PERSON = "same person"
SAME_ADDRESS = "same address"
RELATION_LABELS = {NAMESAKE: NAMESAKE, HOUSEHOLD: SAME_ADDRESS}


@dataclass(frozen=True, slots=True)
class GraphRecord:
    """A record node. Values only for the focal person's records; a neighbour's record
    shows its id and source and nothing it states."""

    record_id: str
    person_id: str
    source: str
    name: str | None = None
    date_of_birth: dt.date | None = None
    address: str | None = None
    observed_on: dt.date | None = None

    @property
    def node_id(self) -> str:
        return f"record:{self.record_id}"


@dataclass(frozen=True, slots=True)
class GraphPerson:
    """A person node: the focal person (hop 0) or a neighbour, with the kinds it is;
    ``expanded`` when its records are drawn."""

    person_id: str
    display_name: str
    record_count: int
    sources: tuple[str, ...]
    hop: int
    kinds: tuple[str, ...]
    expanded: bool

    @property
    def node_id(self) -> str:
        return f"person:{self.person_id}"


@dataclass(frozen=True, slots=True)
class GraphEdge:
    """An edge between two nodes, with the pair of records it was scored on (what the
    waterfall explains) and the model's weight for it."""

    source: str  # node ids
    target: str
    relations: tuple[str, ...]  # same person, or namesake and/or same address
    left_record_id: str
    right_record_id: str
    match_weight: float
    match_probability: float
    above_threshold: bool

    @property
    def label(self) -> str:
        return f"{self.match_weight:+.2f}"


@dataclass(frozen=True, slots=True)
class LinkGraph:
    person_id: str
    hops: int
    cap: int
    persons: tuple[GraphPerson, ...]  # the focal person first
    records: tuple[GraphRecord, ...]
    edges: tuple[GraphEdge, ...]
    more: dict[str, int]  # cut by the cap: "records" of the focal person, and per kind
    resolution_run_id: int
    threshold_weight: float

    @property
    def neighbour_ids(self) -> tuple[str, ...]:
        return tuple(p.person_id for p in self.persons if p.hop > 0)

    @property
    def node_count(self) -> int:
        return len(self.persons) + len(self.records)


def read_link_graph(
    session: Session,
    person_id: str,
    *,
    actor: Actor,
    purpose: str | None,
    hops: int = DEFAULT_HOPS,
    cap: int = DEFAULT_CAP,
    case_id: str | None = None,
) -> LinkGraph:
    """The person's link graph; refused without a role and purpose that may read the
    person, and audited as one read naming the neighbour persons shown."""
    allowed = permit(actor, PersonGraphRead, purpose)
    graph = build_link_graph(session, person_id, hops=hops, cap=cap)
    allowed.record(
        session,
        PersonGraphRead(
            person_id=person_id,
            hops=hops,
            cap=cap,
            neighbours=graph.neighbour_ids,
            more=dict(sorted(graph.more.items())),
            case_id=case_id,
        ),
    )
    return graph


def build_link_graph(
    session: Session, person_id: str, *, hops: int = DEFAULT_HOPS, cap: int = DEFAULT_CAP
) -> LinkGraph:
    """The graph, unaudited (for :func:`read_link_graph`). InputError naming ``hops`` or
    ``cap`` out of range; NotFoundError for an unknown person."""
    if not MIN_CAP <= cap <= MAX_CAP:
        raise InputError(f"the node cap must be {MIN_CAP} to {MAX_CAP}, not {cap}", where="cap")
    if not 1 <= hops <= MAX_HOPS:
        raise InputError(f"hops must be 1 to {MAX_HOPS}, not {hops}", where="hops")
    if session.get(Person, person_id) is None:
        raise NotFoundError(f"no person {person_id!r}")
    return _Builder(session, person_id, hops, cap).build()


class _Builder:
    """Grows the graph hop by hop within the cap; one pass of scoring per hop."""

    def __init__(self, session: Session, person_id: str, hops: int, cap: int) -> None:
        self.session, self.person_id, self.hops, self.cap = session, person_id, hops, cap
        self.hop_of: dict[str, int] = {person_id: 0}
        self.kinds: dict[str, set[str]] = {person_id: set()}
        self.records: dict[str, list[str]] = {}  # person -> record ids, as loaded
        self.links: dict[frozenset[str], tuple[set[str], ScoredPair]] = {}
        self.inner: list[ScoredPair] = []
        self.more = {"records": 0, NAMESAKE: 0, HOUSEHOLD: 0}
        self.scores: PairScores | None = None

    def build(self) -> LinkGraph:
        own = self._own_records()
        self.records[self.person_id] = [r.record_id for r in own]
        budget = self.cap - 1 - len(own)  # the focal person's node and its records
        layer = [self.person_id]
        for hop in range(1, self.hops + 1):
            if not layer:
                break
            layer, budget = self._grow(layer, hop, budget)
        return self._graph(own)

    def _own_records(self) -> list[GraphRecord]:
        """The focal person's records as its profile shows them (those upheld in a
        dispute as another's left out), cut to the cap."""
        removed = disputed_facts(self.session, self.person_id).removed_records
        rows = self.session.scalars(
            select(SourceRecord)
            .join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
            .where(PersonRecord.person_id == self.person_id)
            .order_by(SourceRecord.source, SourceRecord.observed_on, SourceRecord.record_id)
        ).all()
        kept = [_own_record(r, self.person_id) for r in rows if r.record_id not in removed]
        room = self.cap - 1
        self.more["records"] = max(0, len(kept) - room)
        return kept[:room]

    def _grow(self, layer: list[str], hop: int, budget: int) -> tuple[list[str], int]:
        """Score the layer's persons against each other and their neighbours; take the
        neighbours the budget allows, strongest first. The next layer and what is left."""
        related = related_persons(self.session, layer)
        new = sorted({other for (_, other) in related} - self.hop_of.keys())
        kinds_of: dict[str, set[str]] = {}
        for (_, other), kinds in related.items():
            kinds_of.setdefault(other, set()).update(kinds)
        # The most related first, if there are more than are worth scoring (none when
        # there is no room left).
        new.sort(key=lambda p: (-len(kinds_of[p]), p))
        pool = min(MAX_CANDIDATES, max(2 * budget, MIN_POOL)) if budget > 0 else 0
        for person in new[pool:]:
            self._count_more(kinds_of[person])
        candidates = new[:pool]
        self.records.update(records_of(self.session, candidates))
        mine = [r for person in layer for r in self.records.get(person, [])]
        near = {other for (_, other) in related if other in self.hop_of or other in candidates}
        theirs = [r for person in sorted(near) for r in self.records.get(person, [])]
        scores = score_record_pairs(self.session, mine, [*mine, *theirs])
        self.scores = self.scores or scores
        for person in layer:  # drawn with its records: the links inside it
            self.inner.extend(_spanning_tree(self.records.get(person, []), scores))
        best = {
            (one, other): _strongest(self.records.get(one, []), self.records.get(other, []), scores)
            for (one, other) in related
            if other in near
        }
        strength: dict[str, float] = {}
        for (_, other), pair in best.items():
            if pair is not None and other in candidates:
                strength[other] = max(strength.get(other, pair.match_weight), pair.match_weight)
        candidates.sort(key=lambda p: (-strength.get(p, float("-inf")), p))
        expand = hop < self.hops
        taken: list[str] = []
        for person in candidates:
            cost = 1 + (len(self.records.get(person, [])) if expand else 0)
            if cost > budget:
                self._count_more(kinds_of[person])
                continue
            budget -= cost
            taken.append(person)
            self.hop_of[person] = hop
            self.kinds[person] = kinds_of[person]
        for (one, other), pair in best.items():
            if pair is None or other not in self.hop_of:
                continue
            key = frozenset((one, other))
            kinds, _ = self.links.get(key, (set(), pair))
            self.links[key] = (kinds | related[(one, other)], pair)
        return taken, budget

    def _count_more(self, kinds: Iterable[str]) -> None:
        for kind in kinds:
            self.more[kind] += 1

    def _graph(self, own: list[GraphRecord]) -> LinkGraph:
        facts = person_facts(self.session, self.hop_of)
        expanded = {p for p, hop in self.hop_of.items() if hop < self.hops}
        persons = tuple(
            _person(facts[p], hop, self.kinds[p], p in expanded)
            for p, hop in sorted(self.hop_of.items(), key=lambda item: (item[1], item[0]))
            if p in facts
        )
        shown_own = {r.record_id for r in own}
        record_nodes = list(own)
        for person in persons[1:]:
            if person.expanded:
                record_nodes += [
                    GraphRecord(record_id=r, person_id=person.person_id, source="")
                    for r in self.records.get(person.person_id, [])
                ]
        record_nodes = _with_sources(self.session, record_nodes, shown_own)
        drawn = {r.record_id for r in record_nodes}
        person_of = {r.record_id: r.person_id for r in record_nodes}
        threshold = self.scores.threshold_weight if self.scores else 0.0
        edges = [
            _edge(
                f"record:{p.left_record_id}",
                f"record:{p.right_record_id}",
                (SAME_PERSON,),
                p,
                threshold,
            )
            for p in self.inner
            if p.left_record_id in drawn and p.right_record_id in drawn
        ]
        for kinds, pair in self.links.values():
            ends = [
                f"record:{r}" if r in drawn else f"person:{self._holder(r, person_of)}"
                for r in (pair.left_record_id, pair.right_record_id)
            ]
            relations = tuple(RELATION_LABELS[k] for k in sorted(kinds))
            edges.append(_edge(ends[0], ends[1], relations, pair, threshold))
        return LinkGraph(
            person_id=self.person_id,
            hops=self.hops,
            cap=self.cap,
            persons=persons,
            records=tuple(record_nodes),
            edges=tuple(
                sorted(
                    edges,
                    key=lambda e: (
                        e.relations != (SAME_PERSON,),
                        -e.match_weight,
                        e.source,
                        e.target,
                    ),
                )
            ),
            more=self.more,
            resolution_run_id=self.scores.resolution_run_id if self.scores else 0,
            threshold_weight=threshold,
        )

    def _holder(self, record_id: str, person_of: dict[str, str]) -> str:
        if record_id in person_of:
            return person_of[record_id]
        return next(p for p, records in self.records.items() if record_id in records)


def _own_record(r: SourceRecord, person_id: str) -> GraphRecord:
    street = " ".join(
        filter(None, (r.street_number, r.street, f"APT {r.unit}" if r.unit else None))
    )
    place = " ".join(filter(None, (r.city, r.state, r.postcode)))
    return GraphRecord(
        record_id=r.record_id,
        person_id=person_id,
        source=r.source,
        name=" ".join(filter(None, (r.given_name, r.middle_name, r.family_name))) or None,
        date_of_birth=r.date_of_birth,
        address=", ".join(filter(None, (street, place))) or None,
        observed_on=r.observed_on,
    )


def _with_sources(
    session: Session, records: list[GraphRecord], known: set[str]
) -> list[GraphRecord]:
    """Neighbours' record nodes with their source (nothing else of them)."""
    wanted = [r.record_id for r in records if r.record_id not in known]
    sources: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        sources.update(
            (record_id, source)
            for record_id, source in session.execute(
                select(SourceRecord.record_id, SourceRecord.source).where(
                    SourceRecord.record_id.in_(wanted[start : start + 500])
                )
            )
        )
    return [
        r
        if r.record_id in known
        else GraphRecord(record_id=r.record_id, person_id=r.person_id, source=sources[r.record_id])
        for r in records
    ]


def _person(facts: PersonFacts, hop: int, kinds: set[str], expanded: bool) -> GraphPerson:
    return GraphPerson(
        person_id=facts.person_id,
        display_name=facts.display_name,
        record_count=facts.record_count,
        sources=facts.sources,
        hop=hop,
        kinds=tuple(sorted(kinds)),
        expanded=expanded,
    )


def _edge(
    source: str, target: str, relations: tuple[str, ...], pair: ScoredPair, threshold: float
) -> GraphEdge:
    return GraphEdge(
        source=source,
        target=target,
        relations=relations,
        left_record_id=pair.left_record_id,
        right_record_id=pair.right_record_id,
        match_weight=pair.match_weight,
        match_probability=pair.match_probability,
        above_threshold=pair.match_weight >= threshold,
    )


def _strongest(ones: list[str], others: list[str], scores: PairScores) -> ScoredPair | None:
    """The best-scored pair of one record of each list (ties broken by the records' ids)."""
    found = (pair for a in ones for b in others if (pair := scores.of(a, b)) is not None)
    return max(
        found, key=lambda p: (p.match_weight, p.left_record_id, p.right_record_id), default=None
    )


def _spanning_tree(record_ids: list[str], scores: PairScores) -> list[ScoredPair]:
    """The maximum spanning tree of the records' pairwise weights (Kruskal: strongest pair
    first, kept when it joins two parts not yet joined)."""
    parent = {r: r for r in record_ids}

    def root(r: str) -> str:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    pairs = [
        pair
        for i, a in enumerate(record_ids)
        for b in record_ids[i + 1 :]
        if (pair := scores.of(a, b)) is not None
    ]
    tree: list[ScoredPair] = []
    for pair in sorted(pairs, key=lambda p: (-p.match_weight, p.left_record_id, p.right_record_id)):
        a, b = root(pair.left_record_id), root(pair.right_record_id)
        if a != b:
            parent[a] = b
            tree.append(pair)
    return tree
