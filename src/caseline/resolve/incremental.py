"""Incremental resolution: place records ingested since the last run, without a full run.

The last full run keeps its records, with their derived columns, as Parquet beside its
model. A new batch is scored with that run's model against only the existing records that
some blocking rule could pair it with (found by the rules' join keys, not by running them),
with term frequencies counted over every record, so a pair scores as a full run would
score it. Each new record then joins the person it links to most strongly, unless a pair is
strong evidence against, or it starts a new person; existing persons are never merged or
split here (a new record that bridges two persons waits for the next full run).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from caseline.db import Database
from caseline.db.models import Person, PersonRecord, ResolutionRun, SourceRecord
from caseline.errors import StateError
from caseline.oversight import Actor, AuditEntry, record_event
from caseline.resolve import engine as engines
from caseline.resolve.blocking import join_keys
from caseline.resolve.clustering import place_records
from caseline.resolve.clusters import person_id_for
from caseline.resolve.features import LIST_COLUMNS, add_features
from caseline.resolve.linking import decisive_pairs, frequency_columns
from caseline.resolve.model import load_model
from caseline.resolve.records import load_model_frame

StepCallback = Callable[[str], None]
_CHUNK = 10_000  # ids per IN (...) list, well inside SQLite's limit on bound variables


@dataclass(frozen=True, slots=True)
class IncrementalSummary:
    run_id: int | None
    new_records: int
    joined_existing: int  # new records placed in persons that existed before
    new_persons: int
    candidates: int  # existing records the new ones were compared with


def records_folder(models_dir: Path) -> Path:
    """Where the last full run keeps its records (with derived columns) as Parquet parts."""
    return models_dir / "records"


def keep_records(models_dir: Path, records: pd.DataFrame) -> None:
    """Replace the kept records with a full run's (called by the full run)."""
    folder = records_folder(models_dir)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    _write_part(records, folder / "part-0.parquet")


def _write_part(records: pd.DataFrame, path: Path) -> None:
    """One Parquet part with a fixed schema (text, or lists of text for the word columns), so
    that a batch whose column is empty (no passports) still reads as one table with the rest."""
    schema = pa.schema(
        [
            (name, pa.list_(pa.string()) if name in LIST_COLUMNS else pa.string())
            for name in records.columns
        ]
    )
    pq.write_table(pa.Table.from_pandas(records, schema=schema, preserve_index=False), path)


def resolve_incrementally(
    db: Database,
    *,
    models_dir: Path,
    threshold: float,
    engine: str = "duckdb",
    actor: Actor,
    on_step: StepCallback | None = None,
) -> IncrementalSummary:
    """Place the records that belong to no person yet (see the module's docstring)."""
    step = on_step or (lambda _name: None)
    with db.transaction() as session:
        last = session.scalars(select(ResolutionRun).order_by(ResolutionRun.id.desc())).first()
        if last is None:
            raise StateError("no resolution run yet; run `caseline resolve` first")
        new_ids = _unplaced(session)
        if not new_ids:
            return IncrementalSummary(None, 0, 0, 0, 0)
        new = add_features(load_model_frame(session, new_ids))
    folder = records_folder(models_dir)
    if not folder.is_dir():
        raise StateError(
            f"the last full run kept no records in {folder}; run `caseline resolve` first"
        )
    model = load_model(Path(last.model_path))

    step("finding existing records the new ones can meet")
    candidates, frequencies = engines.select_kept_records(
        folder, new, join_keys(set(new.columns)), frequency_columns(model)
    )
    step("scoring candidate pairs")
    frame = pd.concat([candidates, new[candidates.columns]], ignore_index=True)
    linker = engines.create_linker(frame, model, engine)
    engines.register_term_frequencies(linker, frequencies)
    links, against = decisive_pairs(linker, linker.inference.predict(), threshold)
    fresh = set(new["unique_id"])
    links = links[links["left"].isin(fresh) | links["right"].isin(fresh)]
    against = against[against["left"].isin(fresh) | against["right"].isin(fresh)]

    step("placing records")
    with db.transaction() as session:
        persons = _persons_of(session, list(candidates["unique_id"]))
        placed = place_records(persons, links, against)
        unplaced = fresh - {r for records in placed.values() for r in records}
        groups = [*placed.items(), *((f"new:{r}", [r]) for r in sorted(unplaced))]
        summary = _store(session, groups, last, len(candidates), actor)
    _write_part(new, folder / f"part-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}.parquet")
    return summary


def _unplaced(session: Session) -> list[str]:
    placed = select(PersonRecord.record_id)
    rows = session.scalars(
        select(SourceRecord.record_id).where(SourceRecord.record_id.not_in(placed))
    )
    return list(rows)


def _persons_of(session: Session, record_ids: list[str]) -> dict[str, list[str]]:
    """Each person among ``record_ids`` -> its records among them."""
    persons: dict[str, list[str]] = {}
    for start in range(0, len(record_ids), _CHUNK):
        chunk = record_ids[start : start + _CHUNK]
        rows = session.execute(
            select(PersonRecord.person_id, PersonRecord.record_id).where(
                PersonRecord.record_id.in_(chunk)
            )
        )
        for person_id, record_id in rows:
            persons.setdefault(person_id, []).append(record_id)
    return persons


def _store(
    session: Session,
    groups: list[tuple[str, list[str]]],
    last: ResolutionRun,
    candidates: int,
    actor: Actor,
) -> IncrementalSummary:
    run = ResolutionRun(engine=last.engine, model_path=last.model_path, threshold=last.threshold)
    session.add(run)
    session.flush()
    taken: set[str] = set()
    joined = new_persons = 0
    rows: list[dict[str, Any]] = []
    for owner, records in groups:
        if owner.startswith("new:"):
            person_id = _new_person_id(session, records, taken)
            taken.add(person_id)
            session.add(
                Person(
                    person_id=person_id,
                    resolution_run_id=run.id,
                    record_count=0,
                    display_name=_display_name(session, records[0]),
                )
            )
            new_persons += 1
        else:
            person_id = owner
            joined += len(records)
        rows += [{"record_id": r, "person_id": person_id} for r in records]
    session.flush()
    if rows:
        session.execute(insert(PersonRecord), rows)
    touched = {row["person_id"] for row in rows}
    counts = (
        select(func.count()).where(PersonRecord.person_id == Person.person_id).scalar_subquery()
    )
    # Placing records changes a person's evidence; its assurance waits for the next full run
    # rather than showing a figure that no longer describes it.
    session.execute(
        update(Person)
        .where(Person.person_id.in_(touched))
        .values(record_count=counts, assurance=None, assurance_evidence=None)
    )
    run.record_count = len(rows)
    run.person_count = session.scalar(select(func.count()).select_from(Person)) or 0
    run.finished_at = dt.datetime.now(dt.UTC)
    details = {
        "incremental": True,
        "new_records": len(rows),
        "joined_existing": joined,
        "new_persons": new_persons,
        "candidates": candidates,
        "model": Path(last.model_path).name,
    }
    record_event(
        session,
        AuditEntry.by(actor, "resolve", "resolution_run", object_id=str(run.id), details=details),
    )
    return IncrementalSummary(run.id, len(rows), joined, new_persons, candidates)


def _new_person_id(session: Session, records: list[str], taken: set[str]) -> str:
    """An id no person holds (checked for these few ids, not by reading every person)."""
    salt = 0
    while True:
        person_id = person_id_for(records, salt)
        if person_id not in taken and session.get(Person, person_id) is None:
            return person_id
        salt += 1


def _display_name(session: Session, record_id: str) -> str:
    row = session.execute(
        select(SourceRecord.given_name, SourceRecord.family_name).where(
            SourceRecord.record_id == record_id
        )
    ).one()
    return " ".join(filter(None, row)) or "(no name)"
