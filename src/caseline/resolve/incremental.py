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
import threading
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
    write_part(records, folder / "part-0.parquet")


def write_part(records: pd.DataFrame, path: Path) -> pa.Table:
    """One Parquet part with a fixed schema (text, or lists of text for the word columns), so
    that a batch whose column is empty (no passports) still reads as one table with the rest.
    Returns the table written."""
    schema = pa.schema(
        [
            (name, pa.list_(pa.string()) if name in LIST_COLUMNS else pa.string())
            for name in records.columns
        ]
    )
    table = pa.Table.from_pandas(records, schema=schema, preserve_index=False)
    pq.write_table(table, path)
    return table


class IncrementalResolver:
    """What placing a batch needs, loaded once: the last run, its model and the kept records
    with their term-frequency counts. A long-lived process (a server, a loader that places
    each file as it lands) opens one and calls :meth:`place` per batch; the command line
    opens one per call.
    """

    def __init__(self, models_dir: Path, last: ResolutionRun, engine: str) -> None:
        folder = records_folder(models_dir)
        if not folder.is_dir():
            raise StateError(
                f"the last full run kept no records in {folder}; run `caseline resolve` first"
            )
        self._folder = folder
        self._last = last
        self._engine = engine
        self._model = load_model(Path(last.model_path))
        parts = sorted(folder.glob("*.parquet"))
        if not parts:
            raise StateError(f"no kept records in {folder}; run `caseline resolve` first")
        columns = pq.read_schema(parts[0]).names
        self._lock = threading.Lock()
        self._kept = engines.KeptRecords(
            folder, join_keys(set(columns)), frequency_columns(self._model)
        )
        self._kept.prepare(self._model, engine)

    @classmethod
    def open(cls, db: Database, *, models_dir: Path, engine: str = "duckdb") -> IncrementalResolver:
        with db.transaction() as session:
            last = session.scalars(select(ResolutionRun).order_by(ResolutionRun.id.desc())).first()
            if last is None:
                raise StateError("no resolution run yet; run `caseline resolve` first")
            session.expunge(last)
        return cls(models_dir, last, engine)

    def __enter__(self) -> IncrementalResolver:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._kept.close()

    def place(
        self,
        db: Database,
        *,
        threshold: float,
        actor: Actor,
        on_step: StepCallback | None = None,
    ) -> IncrementalSummary:
        """Place the records that belong to no person yet (see the module's docstring)."""
        with self._lock:  # one batch at a time: the kept records are shared state
            return self._place(db, threshold=threshold, actor=actor, on_step=on_step)

    def _place(
        self,
        db: Database,
        *,
        threshold: float,
        actor: Actor,
        on_step: StepCallback | None,
    ) -> IncrementalSummary:
        step = on_step or (lambda _name: None)
        with db.transaction() as session:
            latest = session.scalars(
                select(ResolutionRun.model_path).order_by(ResolutionRun.id.desc())
            ).first()
            if latest != self._last.model_path:
                raise StateError("a full resolution ran since this resolver opened; open a new one")
            new_ids = _unplaced(session)
            if not new_ids:
                return IncrementalSummary(None, 0, 0, 0, 0)
            new = add_features(load_model_frame(session, new_ids))

        step("finding existing records the new ones can meet")
        candidates = self._kept.select(new)
        step("scoring candidate pairs")
        with self._kept.scored(self._model, self._engine) as (linker, predictions):
            links, against = decisive_pairs(linker, predictions, threshold)
        fresh = set(new["unique_id"])
        links = links[links["left"].isin(fresh) | links["right"].isin(fresh)]
        against = against[against["left"].isin(fresh) | against["right"].isin(fresh)]

        step("placing records")
        # Only the existing records paired with a new one can bear on where it goes.
        met = set(links["left"]).union(links["right"], against["left"], against["right"])
        with db.transaction() as session:
            persons = _persons_of(session, sorted(met - fresh))
            placed = place_records(persons, links, against)
            unplaced = fresh - {r for records in placed.values() for r in records}
            groups = [*placed.items(), *((f"new:{r}", [r]) for r in sorted(unplaced))]
            summary = _store(session, groups, self._last, candidates, actor)
        part = self._folder / f"part-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}.parquet"
        self._kept.add(write_part(new, part))
        return summary


def resolve_incrementally(
    db: Database,
    *,
    models_dir: Path,
    threshold: float,
    engine: str = "duckdb",
    actor: Actor,
    on_step: StepCallback | None = None,
) -> IncrementalSummary:
    """Place the records that belong to no person yet, with a resolver opened for the call."""
    with IncrementalResolver.open(db, models_dir=models_dir, engine=engine) as resolver:
        return resolver.place(db, threshold=threshold, actor=actor, on_step=on_step)


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
