"""The reports pages, for auditors and admins: the list of reports over a period, and each
report as a table, with a bar chart where one reads better, and its CSV. Thin: parse, call
:func:`caseline.cases.read_report`, render."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from caseline.api.deps import Authorized, DatabaseDep, SettingsDep
from caseline.cases import REPORT_PAGE, REPORTS, Thresholds, read_report, read_report_page
from caseline.errors import InputError
from caseline.oversight import Actor, Period, Permission
from caseline.web.templating import templates

router = APIRouter(include_in_schema=False)


def period_from_form(start: str, end: str) -> Period:
    """The days a page's From and To fields give (empty: since the start, until today)."""
    return Period.of(_day(start, "from"), _day(end, "to"))


def _day(value: str, where: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{value!r} is not a date (YYYY-MM-DD)", where=where) from None


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    actor: Annotated[Actor, Authorized(Permission.READ_REPORTS)],
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> Response:
    """The reports there are, each linked over the period chosen (reads none)."""
    period = period_from_form(start, end)
    return templates.TemplateResponse(
        request,
        "reports.html",
        {
            "actor": actor,
            "section": "reports",
            "reports": list(REPORTS.values()),
            "period": period,
            "start": start,
            "end": end,
        },
    )


@router.get("/reports/{name}", response_class=HTMLResponse)
def report_page(
    request: Request,
    name: str,
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Authorized(Permission.READ_REPORTS)],
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """One report: its table (a page at a time for a list that grows with use), a bar
    chart where it has one, and a link to its CSV (every row)."""
    with database.reading() as session:
        page = read_report_page(
            session,
            name,
            actor=actor,
            period=period_from_form(start, end),
            thresholds=Thresholds.of(settings),
            offset=offset,
            limit=REPORT_PAGE,
        )
    return templates.TemplateResponse(
        request,
        "report.html",
        {
            "actor": actor,
            "section": "reports",
            "report": page.report,
            "page": page,
            "bars": page.report.bars(),
            "start": start,
            "end": end,
        },
    )


@router.get("/reports/{name}/csv")
def report_csv(
    name: str,
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Authorized(Permission.READ_REPORTS)],
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> Response:
    """The report's table as a CSV download (audited like the page)."""
    with database.reading() as session:
        report = read_report(
            session,
            name,
            actor=actor,
            period=period_from_form(start, end),
            thresholds=Thresholds.of(settings),
        )
    return Response(
        report.csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{report.csv_name}"'},
    )
