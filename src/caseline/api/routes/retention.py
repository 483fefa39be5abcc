"""Retention: what a purge would remove (admins and auditors), the purge itself (admins),
and the persons and cases purges flagged."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from caseline.api.deps import Authorized, DatabaseDep, SettingsDep
from caseline.cases import (
    RetentionPreview,
    apply_retention,
    list_retention_flags,
    preview_retention,
)
from caseline.oversight import Actor, Permission

router = APIRouter(prefix="/retention", tags=["retention"])
Reader = Annotated[Actor, Authorized(Permission.READ_RETENTION)]
Admin = Annotated[Actor, Authorized(Permission.APPLY_RETENTION)]


class SourceRetentionOut(BaseModel):
    source: str
    days: int  # how long its records are kept past their own latest date
    cutoff: dt.date  # records whose latest date is before it are past their period
    records: int  # past it: purged, or to be
    held: int  # past it, kept because a dispute still needs the record


class DependentPersonOut(BaseModel):
    person_id: str
    records_lost: int
    records_left: int  # 0: the person is removed
    sources: dict[str, int]
    open_cases: list[int]


class RetentionPreviewOut(BaseModel):
    as_of: dt.date
    records: int
    held: int
    sources: list[SourceRetentionOut]
    link_decisions: int
    disputes: int
    value_issues: int
    quarantined_rows: int
    persons: list[DependentPersonOut]
    cases: list[int]

    @classmethod
    def of(cls, preview: RetentionPreview) -> RetentionPreviewOut:
        return cls(
            as_of=preview.as_of,
            records=preview.records,
            held=preview.held,
            sources=[SourceRetentionOut.model_validate(s, from_attributes=True)
                     for s in preview.sources],
            link_decisions=preview.link_decisions,
            disputes=preview.disputes,
            value_issues=preview.value_issues,
            quarantined_rows=preview.quarantined_rows,
            persons=[
                DependentPersonOut(person_id=p.person_id, records_lost=p.records_lost,
                                   records_left=p.records_left, sources=p.sources,
                                   open_cases=list(p.open_cases))
                for p in preview.persons
            ],
            cases=list(preview.cases),
        )  # fmt: skip


class RetentionRunOut(BaseModel):
    run_id: str
    applied_at: dt.datetime
    persons_removed: int
    purged: RetentionPreviewOut


class Applying(BaseModel):
    as_of: dt.date | None = Field(
        default=None, description="The day the periods are counted back from (today); not later."
    )
    expected_records: int | None = Field(
        default=None,
        ge=0,
        description="The total the preview showed: refused (409) if what is past has changed.",
    )


class RetentionFlagOut(BaseModel):
    run_id: str
    applied_at: dt.datetime
    applied_by: str
    as_of: dt.date
    person_id: str
    case_id: int | None
    records_lost: int
    records_left: int
    sources: dict[str, int]


@router.get("", response_model=RetentionPreviewOut)
def preview(
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Reader,
    as_of: Annotated[
        dt.date | None, Query(description="The day the periods are counted back from (today)")
    ] = None,
) -> RetentionPreviewOut:
    """What a purge on the day would remove, per source, and the persons and open cases that
    depend on it. Changes nothing; audited."""
    with database.transaction() as session:
        found = preview_retention(
            session, actor, periods=settings.retention_days, as_of=as_of or dt.date.today()
        )
    return RetentionPreviewOut.of(found)


@router.post("/apply", response_model=RetentionRunOut)
def apply(
    database: DatabaseDep,
    settings: SettingsDep,
    actor: Admin,
    applying: Applying | None = None,
) -> RetentionRunOut:
    """Purge what is past its period in one transaction, flag the persons who lost records
    and their open cases, and audit the counts per source."""
    applying = applying or Applying()
    with database.transaction() as session:
        run = apply_retention(
            session,
            actor,
            periods=settings.retention_days,
            as_of=applying.as_of or dt.date.today(),
            expected_records=applying.expected_records,
        )
    return RetentionRunOut(
        run_id=run.run_id,
        applied_at=run.applied_at,
        persons_removed=run.persons_removed,
        purged=RetentionPreviewOut.of(run.purged),
    )


@router.get("/flags", response_model=list[RetentionFlagOut])
def flags(
    database: DatabaseDep,
    actor: Reader,
    run: Annotated[str | None, Query(max_length=32, description="Only this purge's")] = None,
    person: Annotated[str | None, Query(max_length=16, description="Only this person's")] = None,
) -> list[RetentionFlagOut]:
    """The persons and open cases purges flagged, newest first (audited)."""
    with database.transaction() as session:
        found = list_retention_flags(session, actor, run_id=run, person_id=person)
    return [RetentionFlagOut.model_validate(f, from_attributes=True) for f in found]
