"""The priority policy pages: the policy in force with every rule's legal basis, every
version with its proposer, publisher and impact report, and the public report (HTML and
JSON) that anyone reading it may take away. Thin: parse, call :mod:`caseline.cases`, render."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from caseline.api.deps import Authorized, DatabaseDep
from caseline.cases import (
    FACTS,
    list_policy_versions,
    policy_in_force,
    read_policy_version,
)
from caseline.db import Database
from caseline.oversight import Actor, Permission
from caseline.web.templating import AsOfDep, day, templates

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Authorized(Permission.READ_POLICY)]


@router.get("/policy", response_class=HTMLResponse)
def policy_page(request: Request, database: DatabaseDep, actor: Reader, as_of: AsOfDep) -> Response:
    """The policy in force, its rules and why, and every version."""
    report = _public_report(database, actor, day(as_of))
    return templates.TemplateResponse(
        request,
        "policy.html",
        {
            "actor": actor,
            "section": "policy",
            "report": report,
            "facts": FACTS,
            "as_of_given": as_of,
        },
    )


@router.get("/policy/versions/{version}", response_class=HTMLResponse)
def policy_version_page(
    request: Request, version: int, database: DatabaseDep, actor: Reader
) -> Response:
    """One version: its rules, its justifications and the impact measured at its proposal."""
    with database.transaction() as session:
        shown = read_policy_version(session, version, actor=actor)
    return templates.TemplateResponse(
        request,
        "policy_version.html",
        {"actor": actor, "section": "policy", "version": shown.as_dict()},
    )


@router.get("/policy/report.json")
def policy_report_json(database: DatabaseDep, actor: Reader, as_of: AsOfDep) -> Response:
    """The public report as JSON: the policy in force and every version with its impact."""
    report = _public_report(database, actor, day(as_of))
    return Response(
        json.dumps(report, indent=2, sort_keys=True),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="caseline-policy.json"'},
    )


@router.get("/policy/report.html", response_class=HTMLResponse)
def policy_report_html(
    request: Request, database: DatabaseDep, actor: Reader, as_of: AsOfDep
) -> Response:
    """The public report as one HTML page with no link back into Caseline."""
    report = _public_report(database, actor, day(as_of))
    return templates.TemplateResponse(
        request,
        "policy_report.html",
        {"report": report, "facts": FACTS},
        headers={"Content-Disposition": 'attachment; filename="caseline-policy.html"'},
    )


def _public_report(database: Database, actor: Actor, as_of: dt.date) -> dict[str, Any]:
    with database.transaction() as session:
        versions = list_policy_versions(session, actor=actor)
        force = policy_in_force(session, as_of)
    return {
        "as_of": as_of.isoformat(),
        "in_force": {
            "version": force.version,
            "label": force.label,
            "policy": force.policy.as_dict(),
        },
        "versions": [v.as_dict() for v in versions],
    }
