"""Incremental resolution: place records ingested since the last run, without a full run.

The last full run keeps its records, with their derived columns, as Parquet beside its
model. A new batch is scored with that run's model against only the existing records that
some blocking rule could pair it with (found by the rules' join keys, not by running them),
with term frequencies counted over every record, so a pair scores as a full run would
score it. Each new record then joins the person it links to most strongly, unless a pair is
strong evidence against (and strong links do not outvote it, as in a full run's first
clustering), or it starts a new person; existing persons are never merged or
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
from sqlalchemy import String, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from caseline.db import Database
from caseline.db.models import Person, PersonNameWord, PersonRecord, ResolutionRun, SourceRecord
from caseline.errors import StateError
from caseline.oversight import Actor, Permit, RecordsPlaced, permit
from caseline.resolve.blocking import join_keys
from caseline.resolve.blocking_keys import KEY_COLUMNS
from caseline.resolve.clustering import VETOES_OUTVOTED_AT, place_records
from caseline.resolve.clusters import person_id_for
from caseline.resolve.engine import DEFAULT_ENGINE, Engine, KeptRecords, engine_named
from caseline.resolve.features import (
    HALF_KEY_COLUMNS,
    HASH_LIST_COLUMNS,
    LIST_COLUMNS,
    add_features,
)
from caseline.resolve.linking import decisive_pairs
from caseline.resolve.model import load_model
from caseline.resolve.name_words import name_words
from caseline.resolve.placement_lock import placement_lock
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
    # Where each new record went: (record id, person id, whether the person existed before).
    placed: tuple[tuple[str, str, bool], ...] = ()


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
    """One Parquet part with a fixed schema (text, lists of text for the word columns, lists
    of integers for the blocking keys and the hashed words and numbers, integers for the
    numbers' half keys), so that a batch whose column is empty (no passports) still reads
    as one table with the rest. Returns the table written."""
    schema = pa.schema([(name, _stored_type(name)) for name in records.columns])
    table = pa.Table.from_pandas(records, schema=schema, preserve_index=False)
    pq.write_table(table, path)
    return table


def _stored_type(column: str) -> pa.DataType:
    if column in KEY_COLUMNS or column in HASH_LIST_COLUMNS:
        return pa.large_list(pa.int64())
    if column in HALF_KEY_COLUMNS:
        return pa.int64()
    return pa.list_(pa.string()) if column in LIST_COLUMNS else pa.string()


class IncrementalResolver:
    """What placing a batch needs, loaded once: the last run, its model and the kept records
    with their term-frequency counts. A long-lived process (a server, a loader that places
    each file as it lands) opens one and calls :meth:`place` per batch; the command line
    opens one per call.
    """

    def __init__(self, models_dir: Path, last: ResolutionRun, engine: Engine) -> None:
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
        self._full_run = _full_run_mark(folder)
        self._held_parts = {part.name for part in parts}
        self._kept = KeptRecords(
            folder,
            join_keys(set(columns)),
            self._model.frequency_columns,
            scales=self._model.frequency_scales,
        )
        self._kept.prepare(self._model.settings, engine)

    @classmethod
    def open(
        cls, db: Database, *, models_dir: Path, engine: Engine | str = DEFAULT_ENGINE
    ) -> IncrementalResolver:
        """A resolver for the last full run's model on ``engine`` (or the engine so named)."""
        chosen = engine_named(engine) if isinstance(engine, str) else engine
        with db.transaction() as session:
            last = session.scalars(select(ResolutionRun).order_by(ResolutionRun.id.desc())).first()
            if last is None:
                raise StateError("no resolution run yet; run `caseline resolve` first")
            session.expunge(last)
        return cls(models_dir, last, chosen)

    def __enter__(self) -> IncrementalResolver:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
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
        allowed = permit(actor, RecordsPlaced)
        step = on_step or (lambda _name: None)
        with db.transaction() as session:
            latest = session.scalars(
                select(ResolutionRun.model_path).order_by(ResolutionRun.id.desc())
            ).first()
            if latest != self._last.model_path or _full_run_mark(self._folder) != self._full_run:
                raise StateError("a full resolution ran since this resolver opened; open a new one")
            self._take_in_placed_elsewhere()
            new_ids = _unplaced(session)
            if not new_ids:
                return IncrementalSummary(None, 0, 0, 0, 0)
            new = add_features(load_model_frame(session, new_ids))

        step("finding existing records the new ones can meet")
        candidates = self._kept.select(new)
        step("scoring candidate pairs")
        with self._kept.scored(self._model.settings, self._engine) as (linker, predictions):
            links, against = decisive_pairs(
                linker, predictions, threshold, self._model.prior, self._kept.dated()
            )
        fresh = set(new["unique_id"])
        links = links[links["left"].isin(fresh) | links["right"].isin(fresh)]
        against = against[against["left"].isin(fresh) | against["right"].isin(fresh)]
        # Ties in weight are taken in record order, not in the order the engine returned.
        links = links.sort_values(["left", "right"], kind="stable")

        step("placing records")
        met = set(links["left"]).union(links["right"], against["left"], against["right"])
        with db.transaction() as session:
            persons = _reached_persons(session, links, met - fresh)
            placed = place_records(*_by_person(persons, links, against), outvote=VETOES_OUTVOTED_AT)
            unplaced = fresh - {r for records in placed.values() for r in records}
            groups = [*placed.items(), *((f"new:{r}", [r]) for r in sorted(unplaced))]
            summary = _store(session, groups, self._last, candidates, allowed)
        part = self._folder / f"part-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}.parquet"
        self._kept.add(write_part(new, part))
        self._held_parts.add(part.name)
        return summary

    def _take_in_placed_elsewhere(self) -> None:
        """Hold the batches another process placed since this one opened (the parts it wrote
        beside the kept records), so the new records meet them too; a record held already is
        skipped, so a part read when opening and listed only now costs nothing."""
        for part in sorted(self._folder.glob("*.parquet")):
            if part.name not in self._held_parts:
                self._kept.add(pq.read_table(part))
                self._held_parts.add(part.name)


def _full_run_mark(folder: Path) -> tuple[int, int]:
    """What tells one full run's kept records from the next's: each full run writes its
    records anew as the first part (see ``keep_records``)."""
    try:
        first = (folder / "part-0.parquet").stat()
    except FileNotFoundError:
        return (0, 0)
    return (first.st_ino, first.st_mtime_ns)


def resolve_incrementally(
    db: Database,
    *,
    models_dir: Path,
    threshold: float,
    engine: Engine | str = DEFAULT_ENGINE,
    actor: Actor,
    on_step: StepCallback | None = None,
) -> IncrementalSummary:
    """Place the records that belong to no person yet, with a resolver opened for the call."""
    with (
        IncrementalResolver.open(db, models_dir=models_dir, engine=engine) as resolver,
        placement_lock(db, models_dir),
    ):
        return resolver.place(db, threshold=threshold, actor=actor, on_step=on_step)


def _unplaced(session: Session) -> list[str]:
    """The records that belong to no person.

    Every person record is a source record (a foreign key), so two counts say how many there
    are. New records come from the latest ingests, so those are searched first, newest
    first, each step going twice as far back, until all are found: a batch just ingested
    costs its own size. Once a step would search more than an eighth of the records, one
    pass over every id (on their own index, several times cheaper a record) finds the rest.
    """
    records, placed_records = session.execute(
        select(
            select(func.count()).select_from(SourceRecord).scalar_subquery(),
            select(func.count()).select_from(PersonRecord).scalar_subquery(),
        )
    ).one()
    # NOT EXISTS, not NOT IN: PostgreSQL answers NOT IN over a million ids, more than its
    # memory for a hash holds, by reading them all again for every record (minutes).
    unplaced = (
        ~select(PersonRecord.record_id)
        .where(PersonRecord.record_id == SourceRecord.record_id)
        .exists()
    )
    upper = session.scalar(select(func.max(SourceRecord.ingest_run_id))) or 0
    found: list[str] = []
    span = 1
    while len(found) < records - placed_records:
        lower = max(upper - span, 0)
        window = (SourceRecord.ingest_run_id > lower, SourceRecord.ingest_run_id <= upper)
        size = session.scalar(select(func.count()).select_from(SourceRecord).where(*window))
        if upper <= 0 or (size or 0) > records // 8:
            everywhere = select(SourceRecord.record_id).where(unplaced)
            return list(session.scalars(everywhere))
        found += session.scalars(select(SourceRecord.record_id).where(*window, unplaced))
        upper, span = lower, span * 2
    return found


def _memberships_where(column: Any, session: Session) -> tuple[Any, int]:
    """Person records whose ``column`` is among a list of ids (bound as ``ids``), and how
    many ids a statement takes. PostgreSQL takes the list as one array (``= ANY``): a list of
    thousands of bound values cost more to send and plan than to answer; SQLite takes
    ``IN (...)`` lists a chunk at a time, within its limit on bound values."""
    chosen = select(PersonRecord.person_id, PersonRecord.record_id)
    if session.get_bind().dialect.name == "postgresql":
        ids = bindparam("ids", type_=postgresql.ARRAY(String))
        return chosen.where(column == any_(ids)), 2**31
    return chosen.where(column.in_(bindparam("ids", expanding=True))), _CHUNK


def _reached_persons(session: Session, links: pd.DataFrame, met: set[str]) -> dict[str, list[str]]:
    """Each person a new record links to -> its records among ``met`` (existing records the
    new ones met). Only a person a link reaches can take a new record, and a veto bears only
    on such a person (see ``_by_person``), so the persons of the linked records are looked
    up, then those persons' records: far fewer than the records every veto names."""
    linked = sorted(met.intersection(links["left"]).union(met.intersection(links["right"])))
    reached = sorted(_persons_of(session, linked))
    persons: dict[str, list[str]] = {}
    statement, chunk = _memberships_where(PersonRecord.person_id, session)
    for start in range(0, len(reached), chunk):
        rows = session.execute(statement, {"ids": reached[start : start + chunk]})
        for person_id, record_id in rows:
            if record_id in met:
                persons.setdefault(person_id, []).append(record_id)
    return persons


def _persons_of(session: Session, record_ids: list[str]) -> dict[str, list[str]]:
    """Each person among ``record_ids`` -> its records among them."""
    persons: dict[str, list[str]] = {}
    statement, chunk = _memberships_where(PersonRecord.record_id, session)
    for start in range(0, len(record_ids), chunk):
        rows = session.execute(statement, {"ids": record_ids[start : start + chunk]})
        for person_id, record_id in rows:
            persons.setdefault(person_id, []).append(record_id)
    return persons


def _by_person(
    persons: dict[str, list[str]], links: pd.DataFrame, against: pd.DataFrame
) -> tuple[dict[str, list[str]], pd.DataFrame, pd.DataFrame]:
    """The persons, links and vetoes that bear on placing the new records, each existing
    record named by its person: a person is one group already, never split or merged here,
    so any of its records stands for all of it. Placing these gives what placing the records
    would, over the persons the new records reach rather than all the records they met.

    A person none of whose records is linked to a new one is never joined to anything, so
    neither it nor a veto naming it can change where a new record goes. Every link is kept,
    named by its persons: each votes against the vetoes (see clustering), and one that failed
    may succeed when tried again after a join has added votes.
    """
    linked = set(links["left"]) | set(links["right"])
    reached = {pid: records for pid, records in persons.items() if not linked.isdisjoint(records)}
    person_of = {record: pid for pid, records in reached.items() for record in records}
    inside = linked | set(person_of)
    against = against[against["left"].isin(inside) & against["right"].isin(inside)]

    def named(pairs: pd.DataFrame) -> pd.DataFrame:
        return pairs.assign(
            left=pd.Series([person_of.get(r, r) for r in pairs["left"]], dtype=object),
            right=pd.Series([person_of.get(r, r) for r in pairs["right"]], dtype=object),
        )

    return (
        {pid: [pid] for pid in reached},
        named(links.reset_index(drop=True)),
        named(against.reset_index(drop=True)),
    )


def _store(
    session: Session,
    groups: list[tuple[str, list[str]]],
    last: ResolutionRun,
    candidates: int,
    allowed: Permit[RecordsPlaced],
) -> IncrementalSummary:
    run = ResolutionRun(engine=last.engine, model_path=last.model_path, threshold=last.threshold)
    session.add(run)
    session.flush()
    founders = [records for owner, records in groups if owner.startswith("new:")]
    founded = iter(_new_person_ids(session, founders))
    names = _display_names(session, [records[0] for records in founders])
    persons: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    joined = 0
    placed: list[tuple[str, str, bool]] = []
    for owner, records in groups:
        if owner.startswith("new:"):
            person_id = next(founded)
            persons.append(
                {
                    "person_id": person_id,
                    "resolution_run_id": run.id,
                    "record_count": 0,
                    "display_name": names.get(records[0]) or "(no name)",
                }
            )
        else:
            person_id = owner
            joined += len(records)
        rows += [{"record_id": r, "person_id": person_id} for r in records]
        placed += [(r, person_id, not owner.startswith("new:")) for r in records]
    if persons:
        session.execute(insert(Person), persons)
    if rows:
        session.execute(insert(PersonRecord), rows)
    counts = (
        select(func.count()).where(PersonRecord.person_id == Person.person_id).scalar_subquery()
    )
    touched = sorted({row["person_id"] for row in rows})
    for start in range(0, len(touched), _CHUNK):
        # Placing records changes a person's evidence; its assurance waits for the next full
        # run rather than showing a figure that no longer describes it.
        session.execute(
            update(Person)
            .where(Person.person_id.in_(touched[start : start + _CHUNK]))
            .values(record_count=counts, assurance=None, assurance_evidence=None)
        )
    _add_name_words(session, rows)
    run.record_count = len(rows)
    run.person_count = session.scalar(select(func.count()).select_from(Person)) or 0
    run.finished_at = dt.datetime.now(dt.UTC)
    allowed.record(
        session,
        RecordsPlaced(
            run_id=run.id,
            new_records=len(rows),
            joined_existing=joined,
            new_persons=len(persons),
            candidates=candidates,
            model=Path(last.model_path).name,
        ),
    )
    return IncrementalSummary(
        run.id, len(rows), joined, len(persons), candidates, tuple(sorted(placed))
    )


def _add_name_words(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add to each person's name words (search's vocabulary) those its new records give.
    Placing only adds records to persons, so a person's words only grow: the words of the
    new records it lacks are added, rather than every word of every touched person being
    read again and rewritten (what ``refresh_name_words`` does after other changes)."""
    person_of = {row["record_id"]: row["person_id"] for row in rows}
    wanted: set[tuple[str, str]] = set()
    records = sorted(person_of)
    for start in range(0, len(records), _CHUNK):
        names = session.execute(
            select(
                SourceRecord.record_id,
                SourceRecord.given_name,
                SourceRecord.middle_name,
                SourceRecord.family_name,
            ).where(SourceRecord.record_id.in_(records[start : start + _CHUNK]))
        )
        for record_id, *parts in names:
            wanted.update((word, person_of[record_id]) for word in name_words(*parts))
    persons = sorted({person for _word, person in wanted})
    for start in range(0, len(persons), _CHUNK):
        held = session.execute(
            select(PersonNameWord.word, PersonNameWord.person_id).where(
                PersonNameWord.person_id.in_(persons[start : start + _CHUNK])
            )
        )
        wanted.difference_update((word, person) for word, person in held)
    if wanted:
        session.execute(
            insert(PersonNameWord), [{"word": w, "person_id": p} for w, p in sorted(wanted)]
        )


def _new_person_ids(session: Session, groups: list[list[str]]) -> list[str]:
    """An id per group that no person holds and no other group takes (checked for these few
    ids, not by reading every person); a clash moves its group on to the next salt."""
    salts = [0] * len(groups)
    while True:
        ids = [person_id_for(records, salt) for records, salt in zip(groups, salts, strict=True)]
        held: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            held.update(
                session.scalars(select(Person.person_id).where(Person.person_id.in_(chunk)))
            )
        clashed = False
        for i, person_id in enumerate(ids):
            if person_id in held:
                salts[i] += 1
                clashed = True
            held.add(person_id)  # a later group with the same id moves on
        if not clashed:
            return ids


def _display_names(session: Session, record_ids: list[str]) -> dict[str, str]:
    """Record id -> the name it gives (given and family name), for ``record_ids``."""
    names: dict[str, str] = {}
    for start in range(0, len(record_ids), _CHUNK):
        rows = session.execute(
            select(SourceRecord.record_id, SourceRecord.given_name, SourceRecord.family_name).where(
                SourceRecord.record_id.in_(record_ids[start : start + _CHUNK])
            )
        )
        names.update(
            (r.record_id, " ".join(filter(None, (r.given_name, r.family_name)))) for r in rows
        )
    return names
