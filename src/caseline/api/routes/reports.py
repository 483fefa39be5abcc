"""The oversight reports, for auditors and admins: JSON, or CSV with ``?format=csv``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from caseline.api.deps import Authorized, DatabaseDep, SettingsDep
from caseline.cases import REPORTS, Thresholds, read_report
from caseline.oversight import Actor, Period, Permission

router = APIRouter(prefix="/reports", tags=["reports"])

_REFUSALS: dict[int | str, dict[str, object]] = {
    401: {"description": "Not signed in"},
    403: {"description": "The role may not read reports"},
}


class ReportSummary(BaseModel):
    name: str
    title: str


class ReportOut(BaseModel):
    """A report as JSON (what ``format=json`` answers)."""

    report: str
    title: str
    from_: dt.date | None = Field(alias="from")
    to: dt.date
    note: str
    columns: list[str]
    rows: list[dict[str, str | int | float | None]]


@router.get("", response_model=list[ReportSummary], responses=_REFUSALS)
def reports(actor: Annotated[Actor, Authorized(Permission.READ_REPORTS)]) -> list[ReportSummary]:
    """The reports there are, by name (listing them reads none, and records nothing)."""
    return [ReportSummary(name=kind.name, title=kind.title) for kind in REPORTS.values()]


@router.get(
    "/{name}",
    responses={
        **_REFUSALS,
        200: {
            "model": ReportOut,
            "description": "The report as JSON, or as CSV with format=csv",
            "content": {"text/csv": {}},
        },
        404: {"description": "No report of that name"},
        422: {"description": "The period ends before it starts"},
    },
)
def report(
    name: str,
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Authorized(Permission.READ_REPORTS)],
    from_: Annotated[
        dt.date | None, Query(alias="from", description="First day (none: since the start)")
    ] = None,
    to: Annotated[dt.date | None, Query(description="Last day, inclusive (today)")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> Response:
    """One report over a period (days in UTC, both inclusive): the rows as JSON, or the
    same table as CSV. Reading it is audited (``read_report``); reports show ids and
    counts, never a person's name or records."""
    with database.reading() as session:
        found = read_report(
            session,
            name,
            actor=actor,
            period=Period.of(from_, to),
            thresholds=Thresholds.of(settings),
        )
    if format == "csv":
        return Response(
            found.csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{found.csv_name}"'},
        )
    return JSONResponse(found.as_dict())
