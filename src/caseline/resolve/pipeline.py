"""One full resolution run: load records, train, predict, cluster, store persons."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from caseline.db import Database
from caseline.db.models import ResolutionRun
from caseline.errors import StateError
from caseline.oversight import Actor, AuditEntry, record_event
from caseline.resolve import engine as engines
from caseline.resolve.clusters import group_clusters, store_persons
from caseline.resolve.model import MODEL_VERSION, model_settings, train
from caseline.resolve.records import count_records, load_model_frame, present_columns

StepCallback = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ResolutionSummary:
    run_id: int
    records: int
    persons: int
    model_path: Path
    engine: str


def resolve_persons(
    db: Database,
    *,
    models_dir: Path,
    threshold: float,
    engine: str = "duckdb",
    actor: Actor,
    on_step: StepCallback | None = None,
) -> ResolutionSummary:
    """Resolve every stored record into persons; the old persons are replaced atomically."""
    step = on_step or (lambda _name: None)
    step("loading records")
    with db.transaction() as session:
        frame = load_model_frame(session)
    if len(frame) < 2:
        raise StateError("resolution needs at least two ingested records; run `caseline ingest`")

    step("training the model")
    linker = engines.create_linker(frame, model_settings(), engine)
    train(linker, present_columns(frame))
    model_path = _save_model(linker, models_dir)

    step("scoring candidate pairs")
    predictions = linker.inference.predict(threshold_match_probability=min(threshold, 0.5))
    step("clustering")
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    assignments = engines.to_pandas(clustered)[["unique_id", "cluster_id"]]
    clusters = group_clusters(assignments.itertuples(index=False, name=None))

    step("storing persons")
    with db.transaction() as session:
        if count_records(session) != len(frame):
            raise StateError("records were ingested while resolving; run `caseline resolve` again")
        run = ResolutionRun(
            engine=engine, model_path=str(model_path), threshold=threshold, record_count=len(frame)
        )
        session.add(run)
        session.flush()
        run.person_count = store_persons(session, clusters, run.id)
        run.finished_at = dt.datetime.now(dt.UTC)
        record_event(
            session,
            AuditEntry.by(
                actor,
                "resolve",
                "resolution_run",
                object_id=str(run.id),
                details={
                    "records": len(frame),
                    "persons": run.person_count,
                    "threshold": threshold,
                    "model": model_path.name,
                },
            ),
        )
        return ResolutionSummary(run.id, len(frame), run.person_count, model_path, engine)


def _save_model(linker: object, models_dir: Path) -> Path:
    models_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = models_dir / f"{MODEL_VERSION}-{stamp}.json"
    model = linker.misc.save_model_to_json()  # type: ignore[attr-defined]
    model["caseline_model_version"] = MODEL_VERSION
    path.write_text(json.dumps(model, indent=2, sort_keys=True))
    return path
