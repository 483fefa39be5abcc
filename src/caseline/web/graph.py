"""The link graph page: a person's records and the persons near it, drawn and as tables.

Thin: parse, call :func:`caseline.cases.read_person_graph` (the read the API serves too),
render. The drawing (static/graph.js over the vendored cytoscape) reads the same nodes and
edges the tables show, from a JSON block in the page; the tables alone are the page without
a script. Each edge opens the waterfall of the pair it was scored on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from caseline.api.deps import Authorized, DatabaseDep, NotSignedIn
from caseline.api.refusals import record_refusal
from caseline.cases import read_person_graph
from caseline.errors import AccessDenied, InputError
from caseline.oversight import Actor, Permission
from caseline.profiles import (
    DEFAULT_CAP,
    DEFAULT_HOPS,
    MAX_CAP,
    MAX_HOPS,
    MIN_CAP,
    GraphEdge,
    LinkGraph,
)
from caseline.web import purposes
from caseline.web.templating import day, templates

router = APIRouter(include_in_schema=False)
# The site's policy (server.CONTENT_SECURITY_POLICY) and the page's own scripts: the
# vendored graph library and static/graph.js, no inline script.
GRAPH_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
KIND_LABELS = {"namesake": "namesake", "household": "household member"}
MORE_LABELS = {
    "records": ("record of this person", "records of this person"),
    "namesake": ("namesake", "namesakes"),
    "household": ("household member", "household members"),
}


@dataclass(frozen=True, slots=True)
class EdgeRow:
    """An edge as the table and the drawing show it; ``left`` is the read person's record
    when the pair has one (the waterfall is read for work on that person)."""

    source: str
    target: str
    relations: str
    match_weight: float
    above_threshold: bool
    left: str
    right: str
    explain_url: str


@router.get("/persons/{person_id}/graph", response_class=HTMLResponse)
def graph_page(
    request: Request,
    person_id: str,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_PERSON)],
    purpose: Annotated[str, Query(max_length=256)] = "",
    hops: Annotated[str, Query(max_length=8)] = str(DEFAULT_HOPS),
    cap: Annotated[str, Query(max_length=8)] = str(DEFAULT_CAP),
) -> Response:
    """The graph, read for the work the purpose names; without one that allows the read,
    the purposes the reader may state (as the profile does)."""
    form = {"purpose": purpose, "hops": hops, "cap": cap}
    try:
        hop_count = _number(hops, "hops", 1, MAX_HOPS)
        node_cap = _number(cap, "cap", MIN_CAP, MAX_CAP)
    except InputError as exc:
        return _render(request, actor, person_id, form, graph=None, error=str(exc), status=422)
    try:
        with database.reading() as session:
            graph = read_person_graph(
                session, person_id, actor=actor, purpose=purpose, hops=hop_count, cap=node_cap
            )
    except NotSignedIn:
        raise
    except AccessDenied as exc:
        record_refusal(request, 403, str(exc), actor)  # as the API's refusals are
        return purposes.purpose_page(
            request, database, actor, person_id, purpose=purpose, refusal=exc, as_of=day(None)
        )
    return _render(request, actor, person_id, form, graph=graph, error=None, status=200)


def _number(value: str, where: str, low: int, high: int) -> int:
    """A whole number typed in the form, within bounds; a clear error naming the field."""
    try:
        number = int(value.strip())
    except ValueError:
        raise InputError(f"{value!r} is not a whole number", where=where) from None
    if not low <= number <= high:
        raise InputError(f"must be {low} to {high}, not {number}", where=where)
    return number


def _render(
    request: Request,
    actor: Actor,
    person_id: str,
    form: dict[str, str],
    *,
    graph: LinkGraph | None,
    error: str | None,
    status: int,
) -> Response:
    edges = _edge_rows(graph, form["purpose"]) if graph else []
    page = templates.TemplateResponse(
        request,
        "graph.html",
        {
            "actor": actor,
            "section": "search",
            "person_id": person_id,
            "form": form,
            "graph": graph,
            "error": error,
            "edges": edges,
            "labels": _node_labels(graph) if graph else {},
            "more": _more_line(graph) if graph else "",
            "kind_labels": KIND_LABELS,
            "max_hops": MAX_HOPS,
            "min_cap": MIN_CAP,
            "max_cap": MAX_CAP,
            "drawing": _drawing(graph, edges) if graph else None,
        },
        status_code=status,
    )
    page.headers["Content-Security-Policy"] = GRAPH_CONTENT_SECURITY_POLICY
    return page


def _edge_rows(graph: LinkGraph, purpose: str) -> list[EdgeRow]:
    own = {r.record_id for r in graph.records if r.person_id == graph.person_id}
    rows = []
    for edge in graph.edges:
        left, right = _read_person_first(edge, own)
        query = urlencode({"left": left, "right": right, "purpose": purpose})
        rows.append(
            EdgeRow(
                source=edge.source,
                target=edge.target,
                relations=" and ".join(edge.relations),
                match_weight=edge.match_weight,
                above_threshold=edge.above_threshold,
                left=left,
                right=right,
                explain_url=f"/pairs/explain?{query}",
            )
        )
    return rows


def _read_person_first(edge: GraphEdge, own: set[str]) -> tuple[str, str]:
    if edge.right_record_id in own and edge.left_record_id not in own:
        return edge.right_record_id, edge.left_record_id
    return edge.left_record_id, edge.right_record_id


def _node_labels(graph: LinkGraph) -> dict[str, str]:
    """Each node's name in words, the same in the drawing and the tables."""
    names = {p.person_id: p.display_name for p in graph.persons}
    labels = {}
    for person in graph.persons:
        kinds = " and ".join(KIND_LABELS[k] for k in person.kinds) or "this person"
        labels[person.node_id] = f"{person.display_name} ({kinds})"
    for record in graph.records:
        whose = "this person" if record.person_id == graph.person_id else names[record.person_id]
        labels[record.node_id] = f"{record.source} record {record.record_id[:8]} of {whose}"
    return labels


def _more_line(graph: LinkGraph) -> str:
    parts = [
        f"+{count} more {MORE_LABELS[kind][count != 1]}"
        for kind, count in graph.more.items()
        if count and kind in MORE_LABELS
    ]
    if not parts:
        return f"Every node within {graph.hops} hop{'s' if graph.hops > 1 else ''} is shown."
    return f"The cap of {graph.cap} nodes left out: {', '.join(parts)}."


def _drawing(graph: LinkGraph, edges: list[EdgeRow]) -> dict[str, Any]:
    """What static/graph.js draws: nodes with their kind and label, edges with their
    weight and waterfall link (JSON in the page, read by the script). A person whose records
    are drawn is not a node of its own: its records' labels name it."""
    labels = _node_labels(graph)
    names = {p.person_id: p.display_name for p in graph.persons}
    nodes: list[dict[str, Any]] = [
        {
            "id": person.node_id,
            "kind": "neighbour-person",
            "label": f"{' and '.join(KIND_LABELS[k] for k in person.kinds)}: "
            f"{person.display_name} ({person.record_count})",
            "title": labels[person.node_id],
        }
        for person in graph.persons
        if not person.expanded
    ]
    for record in graph.records:
        own = record.person_id == graph.person_id
        nodes.append(
            {
                "id": record.node_id,
                "kind": "own-record" if own else "neighbour-record",
                "label": record.source if own else f"{record.source} · {names[record.person_id]}",
                "title": labels[record.node_id],
            }
        )
    return {
        "nodes": nodes,
        "edges": [
            {
                "id": f"edge-{i}",
                "source": e.source,
                "target": e.target,
                "relation": " ".join(r.replace(" ", "-") for r in e.relations.split(" and ")),
                "label": f"{e.match_weight:+.1f} {e.relations}",
                "title": f"{labels[e.source]} to {labels[e.target]}: {e.relations}, "
                f"match weight {e.match_weight:+.2f}",
                "url": e.explain_url,
            }
            for i, e in enumerate(edges)
        ],
    }
