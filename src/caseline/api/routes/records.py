"""New records: a batch uploaded, ingested and placed among the persons at once (data
engineers only), by a resolver this process keeps open between batches."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import BaseModel

from caseline.api.deps import Authorized, ErrorDetail, SettingsDep
from caseline.config import Settings
from caseline.db import Database
from caseline.errors import InputError
from caseline.ingest import plan_ingest
from caseline.oversight import Actor, Permission
from caseline.resolve import BatchPlacement, PlacementService
from caseline.sources import adapter_for

router = APIRouter(prefix="/records", tags=["records"])
Loader = Annotated[Actor, Authorized(Permission.INGEST_FILES)]
MAX_UPLOAD_BYTES = 256 * 1024 * 1024  # a batch, not a world: a world is ingested from the CLI
UPLOAD_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet")
_CHUNK = 1 << 20
_SERVICE_LOCK = threading.Lock()  # one service per app, however many requests ask at once


class IngestOut(BaseModel):
    source: str
    file_name: str
    loaded: int
    quarantined: int
    value_issues: int
    already_ingested: bool  # the same file (source and sha256) was ingested before: no change
    problems: list[str]  # the first few, each with its line, field and reason


class PlacedRecordOut(BaseModel):
    record_id: str
    person_id: str
    joined_existing: bool  # False: the record starts a new person


class PlacementOut(BaseModel):
    run_id: int | None  # None: nothing was new, so no run was recorded
    new_records: int
    joined_existing: int
    new_persons: int
    candidates: int  # existing records the new ones were compared with
    placed: list[PlacedRecordOut]


class RecordsPlacedOut(BaseModel):
    ingest: IngestOut
    placement: PlacementOut
    seconds: dict[str, float]  # per step: ingest, new records, candidates, scoring, placing
    opened_seconds: float  # opening the resolver first (the first batch of a process)

    @classmethod
    def of(cls, done: BatchPlacement) -> RecordsPlacedOut:
        ingested, placed = done.ingest, done.placement
        return cls(
            ingest=IngestOut(
                source=ingested.source,
                file_name=ingested.file_name,
                loaded=ingested.loaded,
                quarantined=ingested.quarantined,
                value_issues=ingested.value_issues,
                already_ingested=ingested.already_ingested,
                problems=[str(problem) for problem in ingested.examples],
            ),
            placement=PlacementOut(
                run_id=placed.run_id,
                new_records=placed.new_records,
                joined_existing=placed.joined_existing,
                new_persons=placed.new_persons,
                candidates=placed.candidates,
                placed=[
                    PlacedRecordOut(record_id=r, person_id=p, joined_existing=joined)
                    for r, p, joined in placed.placed
                ],
            ),
            seconds={name: round(s, 4) for name, s in done.seconds.items()},
            opened_seconds=round(done.opened_seconds, 4),
        )


def placement_service(request: Request) -> PlacementService:
    """This process's service, made on first use and kept on the app for later batches."""
    state = request.app.state
    with _SERVICE_LOCK:
        service: PlacementService | None = getattr(state, "placement_service", None)
        if service is None:
            settings: Settings = state.settings
            database: Database = state.database
            service = PlacementService(
                database,
                models_dir=settings.models_dir,
                threshold=settings.match_threshold,
                identifier_key=settings.identifier_key,
            )
            state.placement_service = service
    return service


def place_upload(
    service: PlacementService,
    settings: Settings,
    actor: Actor,
    upload: UploadFile,
    *,
    source: str | None,
    encoding: str,
    mapping: UploadFile | None = None,
) -> BatchPlacement:
    """Save the upload (and its mapping) where only the workspace's owner reads it, ingest
    and place it as `caseline ingest FILE --source S` then `caseline resolve --incremental`
    would, and remove the copy (the ingest run keeps its name and sha256)."""
    name = Path(upload.filename or "").name
    if not name.lower().endswith(UPLOAD_SUFFIXES):
        raise InputError(
            f"the file's name ({name or 'none'!r}) must end in " + ", ".join(UPLOAD_SUFFIXES),
            where="file",
        )
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    folder = settings.home / "uploads" / stamp
    folder.mkdir(parents=True, mode=0o700)
    try:
        path = _save(upload, folder / name, "file")
        mapped = _save(mapping, folder / "mapping.yaml", "mapping") if mapping else None
        ((_path, planned),) = plan_ingest([path], source or None, mapped)
        adapter = adapter_for(planned) if isinstance(planned, str) else planned  # 422 first
        return service.ingest_and_place(path, adapter, actor=actor, encoding=encoding)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _save(upload: UploadFile, path: Path, where: str) -> Path:
    written = 0
    with path.open("wb") as out:
        while chunk := upload.file.read(_CHUNK):
            written += len(chunk)
            if written > MAX_UPLOAD_BYTES:
                raise InputError(
                    f"larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB; ingest it from "
                    "the command line",
                    where=where,
                )
            out.write(chunk)
    if written == 0:
        raise InputError("the file is empty", where=where)
    return path


@router.post(
    "",
    response_model=RecordsPlacedOut,
    responses={
        409: {"model": ErrorDetail, "description": "No full resolution run yet: nothing changed."},
        422: {
            "model": ErrorDetail,
            "description": "The file, its source, encoding or mapping cannot be used: "
            "nothing of it was loaded.",
        },
    },
)
def post_records(
    request: Request,
    settings: SettingsDep,
    actor: Loader,
    file: Annotated[UploadFile, File(description="CSV, TSV, JSON Lines or Parquet")],
    source: Annotated[
        str | None, Form(max_length=64, description="Source of the file (default: its name)")
    ] = None,
    encoding: Annotated[
        str, Form(max_length=32, description="Text encoding of CSV and JSONL files")
    ] = "utf-8-sig",
    mapping: Annotated[
        UploadFile | None,
        File(description="YAML mapping of the file's columns to canonical fields"),
    ] = None,
) -> RecordsPlacedOut:
    """Ingest a batch (bad rows quarantined, each with line, field and reason; a file
    ingested before changes nothing) and place its new records among the persons of the last
    full run: joined to the person each links to most strongly, or a new person. Audited as
    an ingest and a placement. 409 when no full run has been made yet."""
    service = placement_service(request)
    done = place_upload(
        service, settings, actor, file, source=source, encoding=encoding, mapping=mapping
    )
    return RecordsPlacedOut.of(done)
