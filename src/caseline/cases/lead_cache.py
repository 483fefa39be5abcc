"""Leads and departures computed once per state of the data they read, kept in the process.

Both are computed over the whole world (every status-bearing record, every address record,
every exit record), which takes seconds on a large workspace. They change only when what
they read changes: records ingested (an upheld dispute adds one too), persons resolved or
placed, disputes filed, taken up or decided, link decisions, cases opened or moved, a
retention purge. :func:`data_version` reads a cheap fingerprint of all of that in one query
(the newest ids and times, a few counts of small tables); a computed list is kept under its
kind, database, day, parameters and that fingerprint, so a change of any of them computes a
fresh list. The fingerprint is read before the list is computed: a list is never older than
the fingerprint it is kept under. Only the few newest lists are kept.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from caseline.db.models import Case, CaseTransition
from caseline.errors import InputError
from caseline.profiles.kept_profiles import records_version_columns

T = TypeVar("T")
KEPT = 6  # computed lists kept at once (each a few MB on a million records)
PAGE_SIZE = 50  # a page of leads or departures, unless asked otherwise
MAX_PAGE_SIZE = 500


class PageLinks:
    """Where the pages before and after a page of a longer list start, for a page that says
    where it starts (``offset``), how long a page is (``limit``), how many the whole list
    holds (``total``) and how many it shows (``shown``)."""

    __slots__ = ()
    offset: int
    limit: int
    total: int

    @property
    def shown(self) -> int:
        raise NotImplementedError

    @property
    def previous_offset(self) -> int | None:
        """None for the first page."""
        return max(self.offset - self.limit, 0) if self.offset > 0 else None

    @property
    def next_offset(self) -> int | None:
        """None for the last page."""
        after = self.offset + self.shown
        return after if after < self.total else None


@dataclass(frozen=True, slots=True)
class Page(PageLinks, Generic[T]):
    """One page of a computed list: its items, how many the whole list holds, where it starts."""

    items: list[T]
    total: int
    offset: int
    limit: int

    @property
    def shown(self) -> int:
        return len(self.items)


def check_page(offset: int, limit: int, most: int = MAX_PAGE_SIZE) -> None:
    """InputError naming ``offset`` below 0 or ``limit`` not 1 to ``most``."""
    if offset < 0:
        raise InputError(f"the offset {offset} is below 0", where="offset")
    if not 1 <= limit <= most:
        raise InputError(f"the page size {limit} is not 1 to {most}", where="limit")


def page_of(items: Sequence[T], offset: int, limit: int) -> Page[T]:
    """The page of ``items`` from ``offset``, at most ``limit`` long; InputError for a bad
    offset or limit."""
    check_page(offset, limit)
    return Page(list(items[offset : offset + limit]), len(items), offset, limit)


def data_version(session: Session, *, with_cases: bool = True) -> tuple[object, ...]:
    """A fingerprint of everything leads and departures read; it changes with any change to
    it (``with_cases`` False: to anything but cases and their steps, which is what profiles
    are built from). One query over primary keys and small tables."""
    columns = records_version_columns()
    if with_cases:
        parts: list[ColumnElement[Any]] = [
            func.max(Case.id),
            func.count(Case.id),
            func.sum(Case.version),
            func.max(Case.updated_at),
            func.max(CaseTransition.id),
        ]
        columns += [select(part).scalar_subquery() for part in parts]
    return tuple(session.execute(select(*columns)).one())


class ComputedLists:
    """The newest few computed lists, by kind, database, day, parameters and data version."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._lists: OrderedDict[Hashable, tuple[object, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        session: Session,
        kind: str,
        as_of: dt.date,
        parameters: Hashable,
        compute: Callable[[], Sequence[T]],
        *,
        reads_cases: bool = True,
    ) -> tuple[T, ...]:
        """The list ``compute`` gives for this state of the data, computed only if no list
        is kept for it (``reads_cases`` False: a list that does not change with cases)."""
        database = session.get_bind().engine.url.render_as_string(hide_password=True)
        version = data_version(session, with_cases=reads_cases)
        key = (kind, database, as_of, parameters, version)
        with self._lock:
            kept = self._lists.get(key)
            if kept is not None:
                self._lists.move_to_end(key)
                return kept  # type: ignore[return-value]
        computed = tuple(compute())
        with self._lock:
            self._lists[key] = computed
            self._lists.move_to_end(key)
            while len(self._lists) > self._kept:
                self._lists.popitem(last=False)
        return computed

    def clear(self) -> None:
        with self._lock:
            self._lists.clear()


computed_lists = ComputedLists()
