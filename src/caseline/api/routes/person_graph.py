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


class GraphEdgeOut(BaseModel):
    source: str  # node ids
    target: str
    relations: list[str]  # same person; or namesake and/or same address
    left_record_id: str  # the pair the weight is of (GET /api/pairs/explain explains it)
    right_record_id: str
    match_weight: float
    match_probability: float
    above_threshold: bool


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
    with database.reading() as session:
        found = read_person_graph(
            session, person_id, actor=actor, purpose=purpose, hops=hops, cap=cap, as_of=today
        )
    return LinkGraphOut.model_validate(found, from_attributes=True)
