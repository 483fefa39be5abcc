"""The data engineer's pages: the ingest runs with a chart of what became of each file's rows,
the resolution runs with a chart of the F1 evaluated after each, one file's problems a page
at a time, and a form that adds a batch of records (ingested, then placed at once by the
resolver the server keeps, as `POST /api/records` does). Thin: parse, call
:mod:`caseline.ingest` and :mod:`caseline.resolve` (the same functions as the API), lay out
the charts, render."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from caseline.api.deps import Authorized, DatabaseDep, SettingsDep
from caseline.api.routes.records import RecordsPlacedOut, place_upload, placement_service
from caseline.db import Database
from caseline.errors import InputError, StateError
from caseline.ingest import IngestRunSummary, list_ingest_runs, run_problems
from caseline.oversight import Actor, Permission
from caseline.resolve import ResolutionRunSummary, list_resolution_runs
from caseline.sources import SOURCES
from caseline.web.templating import templates

router = APIRouter(include_in_schema=False)
PROBLEMS_PAGE = 50
CHART_FILES = 12  # the newest files the ingest chart draws; the table lists every one
CHART_RUNS = 4  # the newest evaluated runs the F1 chart draws
CHART_WIDTH = 520  # narrow, so that its text still reads when a phone shrinks it
LABEL_RIGHT = 166  # labels end here, bars start just after
BAR_LEFT = 174
BAR_SPAN = 270  # the longest bar's length; its value is written after it
ROW = 22
HEADING = 28
PLACED_SHOWN = 50  # the placed records the page lists; the counts cover every one


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of a chart, with the text beside it that says its value."""

    label: str
    value_text: str
    y: float
    width: float
    emphasis: bool = False  # drawn darker: a total beside its parts

    @property
    def text_x(self) -> float:
        return BAR_LEFT + self.width + 6


@dataclass(frozen=True, slots=True)
class Panel:
    """A titled group of bars drawn to one scale."""

    title: str
    y: float
    kind: str  # what the bars measure, for the stylesheet
    bars: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    height: float
    panels: tuple[Panel, ...]


def _short(name: str, limit: int = 22) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


Rows = list[tuple[str, float, str, bool]]  # label, value, the value in words, emphasis


def _layout(title: str, groups: list[tuple[str, str, Rows]], scale: float | None) -> Chart | None:
    """Panels stacked down the chart; each bar's length is its value over the scale (or,
    with no scale given, over the largest value of its panel)."""
    y = 4.0
    panels = []
    for heading, kind, rows in groups:
        top = scale or max((value for _, value, _, _ in rows), default=0.0) or 1.0
        bars = tuple(
            Bar(label, text, y + HEADING + i * ROW, BAR_SPAN * max(0.0, value) / top, emphasis)
            for i, (label, value, text, emphasis) in enumerate(rows)
        )
        panels.append(Panel(heading, y, kind, bars))
        y += HEADING + len(rows) * ROW + 10
    return Chart(title, y, tuple(panels)) if panels else None


def ingest_chart(runs: list[IngestRunSummary]) -> Chart | None:
    """Rows loaded, rows quarantined and values left out per file (the newest files), each
    measure to its own scale, as loaded rows outnumber the others by far."""
    shown = runs[:CHART_FILES]
    if not shown:
        return None
    measures = (
        ("Rows loaded", "loaded", [r.loaded for r in shown]),
        ("Rows quarantined", "quarantined", [r.quarantined for r in shown]),
        ("Values left out", "left-out", [r.value_issues for r in shown]),
    )
    groups = [
        (
            heading,
            kind,
            [
                (_short(r.file_name), float(count), f"{count:,}", False)
                for r, count in zip(shown, counts, strict=True)
            ],
        )
        for heading, kind, counts in measures
    ]
    return _layout("Rows loaded, rows quarantined and values left out per file", groups, None)


def f1_chart(runs: list[ResolutionRunSummary]) -> Chart | None:
    """F1 overall ("all", darker) and per naming group, for the newest evaluated runs, on
    one scale from 0 to 1."""
    evaluated = [run for run in runs if run.accuracy is not None][:CHART_RUNS]
    groups = []
    for run in evaluated:
        assert run.accuracy is not None
        kind = "incremental" if run.incremental else "full"
        rows = [
            (g.group.replace("_", " "), g.f1, f"{g.f1:.4f}", g.group == "all")
            for g in run.accuracy.groups
            if g.f1 is not None
        ]
        groups.append((f"Run {run.run_id} ({kind}), F1 per naming group", "f1", rows))
    return _layout("F1 per resolution run and naming group", groups, 1.0) if groups else None


@router.get("/data", response_class=HTMLResponse)
def data_page(
    request: Request,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_RUNS)],
) -> Response:
    """Every ingest run and every resolution run, each list with its chart."""
    return _data_page(request, database, actor)


@router.post("/data/records", response_class=HTMLResponse)
def add_records(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Authorized(Permission.INGEST_FILES)],
    file: Annotated[UploadFile, File()],
    source: Annotated[str, Form(max_length=64)] = "",
    encoding: Annotated[str, Form(max_length=32)] = "utf-8-sig",
    mapping: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Ingest the uploaded batch and place its new records; the page then shows what was
    loaded, where the records went and how long each step took (or why nothing was)."""
    chosen = mapping if mapping is not None and mapping.filename else None
    try:
        done = place_upload(
            placement_service(request),
            settings,
            actor,
            file,
            source=source or None,
            encoding=encoding or "utf-8-sig",
            mapping=chosen,
        )
    except (InputError, StateError) as exc:
        status = 409 if isinstance(exc, StateError) else 422
        return _data_page(request, database, actor, place_error=str(exc), status_code=status)
    return _data_page(request, database, actor, placed=RecordsPlacedOut.of(done))


def _data_page(
    request: Request,
    database: Database,
    actor: Actor,
    *,
    placed: RecordsPlacedOut | None = None,
    place_error: str | None = None,
    status_code: int = 200,
) -> Response:
    with database.transaction() as session:
        ingested = list_ingest_runs(session, actor=actor)
        resolved = list_resolution_runs(session, actor=actor)
    return templates.TemplateResponse(
        request,
        "data.html",
        {
            "actor": actor,
            "section": "data",
            "ingest_runs": ingested,
            "resolution_runs": resolved,
            "ingest_chart": ingest_chart(ingested),
            "f1_chart": f1_chart(resolved),
            "chart_width": CHART_WIDTH,
            "label_right": LABEL_RIGHT,
            "bar_left": BAR_LEFT,
            "chart_files": CHART_FILES,
            "chart_runs": CHART_RUNS,
            "sources": sorted(SOURCES),
            "placed": placed,
            "placed_shown": PLACED_SHOWN,
            "place_error": place_error,
        },
        status_code=status_code,
    )


@router.get("/data/ingest/{run_id}", response_class=HTMLResponse)
def ingest_problems_page(
    request: Request,
    run_id: int,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.READ_INGEST_PROBLEMS)],
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """One file's quarantined rows and values left out, by line, a page at a time (each
    page read is audited: the rows are shown as written)."""
    with database.transaction() as session:
        page = run_problems(session, run_id, actor=actor, offset=offset, limit=PROBLEMS_PAGE)
    return templates.TemplateResponse(
        request,
        "data_ingest.html",
        {"actor": actor, "section": "data", "page": page, "run": page.run},
    )
