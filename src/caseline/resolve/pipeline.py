"""One full resolution run: load records, train (or load) the model, link, store persons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from caseline.db import Database
from caseline.db.models import ResolutionRun
from caseline.errors import StateError
from caseline.oversight import Actor, PersonsResolved, permit
from caseline.resolve.clusters import store_persons
from caseline.resolve.decisions import load_decisions
from caseline.resolve.engine import DEFAULT_ENGINE, Engine, engine_named
from caseline.resolve.incremental import keep_records
from caseline.resolve.linking import link_records
from caseline.resolve.model import load_model, save_model
from caseline.resolve.records import count_records, load_model_frame
from caseline.resolve.review_pairs import store_review_pairs

StepCallback = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ResolutionSummary:
    run_id: int
    records: int
    persons: int
    model_path: Path
    engine: str
    merges: int = 0
    splits: int = 0


def resolve_persons(
    db: Database,
    *,
    models_dir: Path,
    threshold: float,
    engine: Engine | str = DEFAULT_ENGINE,
    model_path: Path | None = None,
    actor: Actor,
    on_step: StepCallback | None = None,
) -> ResolutionSummary:
    """Resolve every stored record into persons; the old persons are replaced atomically.

    With ``model_path`` the saved model scores the records as it is; otherwise a model is
    trained on these records and saved, versioned, in ``models_dir``. ``engine`` runs the
    model (an engine's name is taken too, as the command line gives it).
    """
    allowed = permit(actor, PersonsResolved)
    chosen = engine_named(engine) if isinstance(engine, str) else engine
    step = on_step or (lambda _name: None)
    model = load_model(model_path) if model_path is not None else None
    started_at = dt.datetime.now(dt.UTC)  # the run's row is written when it ends
    step("loading records")
    with db.transaction() as session:
        frame = load_model_frame(session)
        decisions = load_decisions(session)
    if len(frame) < 2:
        raise StateError("resolution needs at least two ingested records; run `caseline ingest`")
    linkage = link_records(
        frame, threshold=threshold, engine=chosen, model=model, decisions=decisions, on_step=step
    )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    saved = model_path or save_model(linkage.model, models_dir, stamp)

    step("storing persons")
    with db.transaction() as session:
        if count_records(session) != len(frame):
            raise StateError("records were ingested while resolving; run `caseline resolve` again")
        run = ResolutionRun(
            started_at=started_at,
            engine=chosen.name,
            model_path=str(saved),
            threshold=threshold,
            record_count=len(frame),
        )
        session.add(run)
        session.flush()
        changes = store_persons(session, linkage.clusters, run.id, linkage.assurance)
        store_review_pairs(session, run.id, linkage.review_pairs)
        run.person_count = len(linkage.clusters)
        run.finished_at = dt.datetime.now(dt.UTC)
        merges = sum(1 for c in changes if c.kind == "merge")
        allowed.record(
            session,
            PersonsResolved(
                run_id=run.id,
                records=len(frame),
                persons=run.person_count,
                threshold=threshold,
                engine=chosen.name,
                model=saved.name,
                merges=merges,
                splits=len(changes) - merges,
            ),
        )
        summary = ResolutionSummary(
            run.id, len(frame), run.person_count, saved, chosen.name, merges, len(changes) - merges
        )
    # Kept for `resolve --incremental`, which scores new records against these.
    keep_records(models_dir, linkage.records)
    return summary
