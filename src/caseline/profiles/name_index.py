"""What search needs of every person, kept in the process per database and data state.

A search matches typed words against the vocabulary, then needs who holds each matched
word and the name and record count of each person it ranks; reading those from the database
for thousands of holders cost more than the match. :class:`NameIndex` keeps them in compact
arrays (each word's holders as one run of person positions in one int32 array), so a
search reads from the database only the page it shows and its filters.

Persons and their name words change only with a resolution run (a full run or an
incremental placement, each a new ``resolution_runs`` row in the transaction that writes
them) and with a retention purge (which flags each person it changes in
``retention_flags`` and audits the purge, in its transaction). :func:`data_state` reads
the newest of each in one query over primary keys and indexed columns; an index is kept
under its database and that state, and a search whose state differs reads a fresh one. The
state is read before the data, so an index is never older than the state it is kept under.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from caseline.db.models import AuditEvent, Person, PersonNameWord, ResolutionRun, RetentionFlag
from caseline.oversight import RetentionApplied
from caseline.profiles.name_match import Vocabulary

KEPT = 4  # databases whose index a process keeps at once (tests open many)
_STREAMED = 50_000  # name word rows read at a time


@dataclass(frozen=True, slots=True)
class NameIndex:
    """The vocabulary, who holds each word, and each person's name and record count.

    Persons are numbered by their place in ``person_ids`` (sorted); the holders of the
    word at row r of ``_rows`` are ``_holders[_starts[r]:_starts[r + 1]]``, ascending."""

    vocabulary: Vocabulary
    person_ids: Sequence[str]
    display_names: Sequence[str]
    record_counts: Sequence[int]
    _rows: dict[str, int]
    _starts: Sequence[int]
    _holders: npt.NDArray[np.int32]

    @classmethod
    def read(cls, session: Session) -> NameIndex:
        """Read every person and every stored name word (the words of persons that no
        longer exist are left out, as a search would find no such person)."""
        persons = session.execute(
            select(Person.person_id, Person.display_name, Person.record_count).order_by(
                Person.person_id
            )
        ).all()
        position = {person_id: at for at, (person_id, _, _) in enumerate(persons)}
        rows: dict[str, int] = {}
        word_rows: array[int] = array("i")
        holders: array[int] = array("i")
        words = select(PersonNameWord.word, PersonNameWord.person_id)
        for word, person_id in session.execute(words.execution_options(yield_per=_STREAMED)):
            at = position.get(person_id)
            if at is None:
                continue
            word_rows.append(rows.setdefault(word, len(rows)))
            holders.append(at)
        by_word = np.frombuffer(word_rows, dtype=np.int32) if word_rows else np.zeros(0, np.int32)
        held = np.frombuffer(holders, dtype=np.int32) if holders else np.zeros(0, np.int32)
        order = np.lexsort((held, by_word))
        counts = np.bincount(by_word, minlength=len(rows))
        starts = np.concatenate(([0], np.cumsum(counts))).tolist()
        return cls(
            vocabulary=Vocabulary.of(dict(zip(rows, counts.tolist(), strict=True))),
            person_ids=[p for p, _, _ in persons],
            display_names=[name for _, name, _ in persons],
            record_counts=array("i", (count for _, _, count in persons)),
            _rows=rows,
            _starts=starts,
            _holders=held[order].copy(),
        )

    def holders(self, words: Iterable[str]) -> npt.NDArray[np.int32]:
        """The positions of the persons holding any of ``words``, ascending, once each."""
        runs = [self._holding(word) for word in words]
        if not runs:
            return np.zeros(0, dtype=np.int32)
        return np.unique(np.concatenate(runs))

    def scores(
        self, candidates: npt.NDArray[np.int32], meant: Sequence[dict[str, float]]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """For each candidate, how many typed words one of its words matches, and the sum
        over the typed words (in order) of the best similarity of its words (0 for none)."""
        matched = np.zeros(len(candidates), dtype=np.int64)
        total = np.zeros(len(candidates), dtype=np.float64)
        for similar in meant:
            best = np.zeros(len(self.person_ids), dtype=np.float64)
            # Ascending, so that a person holding several of the words keeps the best.
            for word, similarity in sorted(similar.items(), key=lambda item: item[1]):
                best[self._holding(word)] = similarity
            theirs = best[candidates]
            total += theirs
            matched += theirs > 0
        return matched, total

    def _holding(self, word: str) -> npt.NDArray[np.int32]:
        row = self._rows.get(word)
        if row is None:
            return self._holders[:0]
        return self._holders[self._starts[row] : self._starts[row + 1]]


def data_state(session: Session) -> tuple[object, ...]:
    """A fingerprint of the persons and their name words: it changes with every resolution
    run (full or incremental) and every retention purge that changed a person."""
    parts: list[ColumnElement[Any]] = [
        func.max(ResolutionRun.id),
        func.max(ResolutionRun.started_at),
        func.max(ResolutionRun.finished_at),
        func.max(RetentionFlag.id),
        func.max(RetentionFlag.applied_at),
    ]
    purged = (
        select(func.max(AuditEvent.seq))
        .where(AuditEvent.action == RetentionApplied.action)
        .scalar_subquery()
    )
    return tuple(
        session.execute(select(*(select(p).scalar_subquery() for p in parts), purged)).one()
    )


class NameIndexes:
    """One :class:`NameIndex` per database, for its current data state, shared by the
    server's threads: one thread reads a new state while the others wait for it."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept_most = kept
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, tuple[tuple[object, ...], NameIndex]] = OrderedDict()
        self._reading: dict[str, threading.Lock] = {}

    def get(self, session: Session) -> NameIndex:
        bind = session.get_bind()
        database = f"{bind.engine.url}#{id(bind.engine)}"
        state = data_state(session)
        with self._lock:
            kept = self._current(database, state)
            if kept is not None:
                return kept
            reading = self._reading.setdefault(database, threading.Lock())
        with reading:
            with self._lock:
                kept = self._current(database, state)
            if kept is not None:
                return kept
            index = NameIndex.read(session)
            with self._lock:
                self._kept[database] = (state, index)
                self._kept.move_to_end(database)
                while len(self._kept) > self._kept_most:
                    self._kept.popitem(last=False)
        return index

    def _current(self, database: str, state: tuple[object, ...]) -> NameIndex | None:
        kept = self._kept.get(database)
        if kept is None or kept[0] != state:
            return None
        self._kept.move_to_end(database)
        return kept[1]


NAME_INDEXES = NameIndexes()
