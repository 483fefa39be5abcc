"""A person's link graph: its records and the persons near it, with the match weights."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from caseline.api.deps import Authorized, DatabaseDep
from caseline.api.routes.persons import PURPOSE_HELP
from caseline.cases import read_person_graph, state_purpose
from caseline.oversight import Actor, Permission
from caseline.profiles import (
    DEFAULT_CAP,
    DEFAULT_HOPS,
    MAX_CAP,
    MAX_HOPS,
    MIN_CAP,
    GraphEdge,
    GraphPerson,
    GraphRecord,
    LinkGraph,
)

router = APIRouter(prefix="/persons", tags=["persons"])


class GraphPersonOut(BaseModel):
    node_id: str
    person_id: str
    display_name: str
    record_count: int
    sources: list[str]
    hop: int  # 0: the person read; 1: its neighbours; 2: theirs ...
    kinds: list[str]  # namesake, household (none for the person read)
    expanded: bool  # its records are nodes of the graph

    @classmethod
    def of(cls, person: GraphPerson) -> GraphPersonOut:
        return cls(
            node_id=person.node_id,
            person_id=person.person_id,
            display_name=person.display_name,
            record_count=person.record_count,
            sources=list(person.sources),
            hop=person.hop,
            kinds=list(person.kinds),
            expanded=person.expanded,
        )


class GraphRecordOut(BaseModel):
    node_id: str
    record_id: str
    person_id: str
    source: str
    # The person read's records only; a neighbour's record shows its id and source alone.
    name: str | None
    date_of_birth: dt.date | None
    address: str | None
    observed_on: dt.date | None

    @classmethod
    def of(cls, record: GraphRecord) -> GraphRecordOut:
        return cls(
            node_id=record.node_id,
            record_id=record.record_id,
            person_id=record.person_id,
            source=record.source,
            name=record.name,
            date_of_birth=record.date_of_birth,
            address=record.address,
            observed_on=record.observed_on,
        )


class GraphEdgeOut(BaseModel):
    source: str  # node ids
    target: str
    relations: list[str]  # same person; or namesake and/or same address
    left_record_id: str  # the pair the weight is of (GET /api/pairs/explain explains it)
    right_record_id: str
    match_weight: float
    match_probability: float
    above_threshold: bool

    @classmethod
    def of(cls, edge: GraphEdge) -> GraphEdgeOut:
        return cls(
            source=edge.source,
            target=edge.target,
            relations=list(edge.relations),
            left_record_id=edge.left_record_id,
            right_record_id=edge.right_record_id,
            match_weight=edge.match_weight,
            match_probability=edge.match_probability,
            above_threshold=edge.above_threshold,
        )


class LinkGraphOut(BaseModel):
    person_id: str
    hops: int
    cap: int
    persons: list[GraphPersonOut]  # the person read first
    records: list[GraphRecordOut]
    edges: list[GraphEdgeOut]
    more: dict[str, int]  # left out by the cap: "records" of the person read, and per kind
    resolution_run_id: int
    threshold_weight: float

    @classmethod
    def of(cls, graph: LinkGraph) -> LinkGraphOut:
        return cls(
            person_id=graph.person_id,
            hops=graph.hops,
            cap=graph.cap,
            persons=[GraphPersonOut.of(p) for p in graph.persons],
            records=[GraphRecordOut.of(r) for r in graph.records],
            edges=[GraphEdgeOut.of(e) for e in graph.edges],
            more=dict(graph.more),
            resolution_run_id=graph.resolution_run_id,
            threshold_weight=graph.threshold_weight,
        )


@router.get("/{person_id}/graph", response_model=LinkGraphOut)
def graph(
    person_id: str,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_PERSON)],
    purpose: Annotated[str, Query(max_length=256, description=PURPOSE_HELP)],
    hops: Annotated[
        int, Query(ge=1, le=MAX_HOPS, description="Steps from person to neighbour person")
    ] = DEFAULT_HOPS,
    cap: Annotated[
        int, Query(ge=MIN_CAP, le=MAX_CAP, description="Most nodes drawn; the rest counted")
    ] = DEFAULT_CAP,
) -> LinkGraphOut:
    """The person's records and its neighbours (namesakes; household members, with a record
    at one of its addresses) as nodes, and as edges the links inside each person (the
    maximum spanning tree of its records' match weights) and the strongest pair between
    neighbours ("why not linked"). Neighbours show name, record count and sources only.
    Needs a purpose bound to the reader's work, as a profile does; audited as one read."""
    today = dt.date.today()
    with database.transaction() as session:  # a reason in words stays filed if refused
        state_purpose(session, person_id, actor=actor, purpose=purpose, as_of=today)
    with database.transaction() as session:
        found = read_person_graph(
            session, person_id, actor=actor, purpose=purpose, hops=hops, cap=cap, as_of=today
        )
    return LinkGraphOut.of(found)
