"""The dossier page: what a step of a case rested on, as kept with it, checked against its
sha256 and against the person as the records show them now. Printable (no navigation)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from caseline.api.deps import Authorized, DatabaseDep, SettingsDep
from caseline.cases import Thresholds, check_dossier
from caseline.oversight import Actor, Permission
from caseline.web.templating import templates

router = APIRouter(include_in_schema=False)


@router.get("/cases/{case_id}/dossiers/{step_id}", response_class=HTMLResponse)
def dossier_page(
    request: Request,
    case_id: int,
    step_id: int,
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Authorized(Permission.READ_CASES)],
) -> Response:
    with database.transaction() as session:
        checked = check_dossier(
            session, case_id, step_id, actor=actor, thresholds=Thresholds.of(settings)
        )
    return templates.TemplateResponse(
        request,
        "dossier.html",
        {
            "actor": actor,
            "section": "cases",
            "checked": checked,
            "dossier": checked.dossier,
            "raw": f"/api/cases/{case_id}/dossiers/{step_id}",
        },
    )
