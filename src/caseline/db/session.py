"""Engine and session scopes: a transaction that may write, and one that only reads.

``Database.transaction()`` is the one scope for work that changes something: on SQLite it
takes the write lock at its start (``BEGIN IMMEDIATE``), so writers run one after another and
never fail part-way. ``Database.reading()`` is for work that only reads and records the
audit events of its reads: on SQLite it reads in a shared transaction, beside other readers
and the one writer, and writes what it deferred (``defer_write``: its audit events) in a
short transaction of its own before its block is left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

# The execution option that marks a connection as reading (SQLite: a shared transaction).
_READING = "caseline_reading"
# Where a reading session keeps the writes left for after its reads (``defer_write``).
_DEFERRED = "caseline_deferred_writes"


class WriteInReading(RuntimeError):
    """Work in ``Database.reading()`` tried to write something it cannot defer; nothing was
    written. The caller does the work again in ``Database.transaction()``."""


class Database:
    """The service database behind one URL."""

    def __init__(self, url: str, *, statement_timeout_seconds: float | None = None) -> None:
        """``statement_timeout_seconds`` (PostgreSQL) bounds every statement: the service
        sets it, so a slow query cannot hold a connection; commands that load and resolve
        run long statements and do not."""
        self.url = url
        self.engine: Engine = _create_engine(url)
        if statement_timeout_seconds is not None and self.dialect == "postgresql":
            milliseconds = max(1, round(statement_timeout_seconds * 1000))
            event.listen(self.engine, "connect", partial(_bound_statements, milliseconds))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        reading_engine = self.engine.execution_options(**{_READING: True})
        self._reading_sessions = sessionmaker(reading_engine, expire_on_commit=False)
        event.listen(self._reading_sessions, "before_flush", _refuse_writes)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits if the block succeeds and rolls back everything if not."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for work that only reads, and records the audit events of its reads.

        SQLite: the reads run in a shared (deferred) transaction, so readers run side by side
        and beside the writer. What the work defers (``defer_write``: its audit events) is
        written once the reads are done, in a short transaction of its own that takes the
        write lock (waiting for it as long as any writer does), before the block is left:
        if that fails, the block raises, so what was read is never returned without its
        events. If the reads fail, nothing deferred is written. The work may write nothing
        else: a change to flush raises ``WriteInReading`` and nothing is written.

        PostgreSQL, where readers never wait for a writer: ``transaction()``, with the events
        written in the reads' own transaction.
        """
        if self.dialect != "sqlite":
            with self.transaction() as session:
                yield session
            return
        deferred: list[Callable[[Session], object]] = []
        try:
            with self._reading_sessions() as session, session.begin():
                session.info[_DEFERRED] = deferred
                yield session
        except OperationalError as exc:
            if "readonly" in str(exc.orig):  # SQL that writes, run in the reads' transaction
                raise WriteInReading(f"work that only reads tried to write: {exc.orig}") from exc
            raise
        if deferred:
            with self.transaction() as session:
                for write in deferred:
                    write(session)

    def dispose(self) -> None:
        self.engine.dispose()


def defer_write(session: Session, write: Callable[[Session], object]) -> bool:
    """Leave ``write`` for after the reads of a ``reading()`` session on SQLite, which makes
    it, in order with the others left, in one short transaction of its own before its block
    is left; True if so. False if ``session`` writes in its own transaction: write now."""
    deferred: list[Callable[[Session], object]] | None = session.info.get(_DEFERRED)
    if deferred is None:
        return False
    deferred.append(write)
    return True


def _refuse_writes(session: Session, _context, _instances) -> None:  # type: ignore[no-untyped-def]
    modified = (o for o in session.dirty if session.is_modified(o))
    changed = [*session.new, *session.deleted, *modified]
    if changed:
        names = sorted({type(o).__name__ for o in changed})
        raise WriteInReading(f"work that only reads tried to write {', '.join(names)}")


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin)
        return engine
    # A server that is down is reported within CONNECT_SECONDS, not after the system's TCP
    # timeout; a request waits at most POOL_WAIT_SECONDS for a connection (then 503), and each
    # process keeps up to POOL_SIZE + POOL_OVERFLOW of them. Each connection is checked before
    # it is lent, so after a restart of the server the pool opens new ones by itself.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=POOL_WAIT_SECONDS,
        connect_args={"connect_timeout": CONNECT_SECONDS},
    )


POOL_SIZE = 10  # the threads a worker serves requests on (Starlette's pool) seldom exceed it
POOL_OVERFLOW = 10
POOL_WAIT_SECONDS = 10
CONNECT_SECONDS = 5


def _bound_statements(milliseconds: int, dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {int(milliseconds)}")
    dbapi_connection.commit()


def _configure_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # The driver's own transaction handling starts transactions lazily, at the first write,
    # so two requests could both read the audit chain's tail before either appends to it.
    # Caseline begins every transaction itself (see _begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Bulk loads insert into several indexes at random places; a small page cache thrashes.
    cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _begin(connection) -> None:  # type: ignore[no-untyped-def]
    """A transaction that may write takes SQLite's write lock at its start, so writers run
    one after another and never fail part-way; one that only reads (``reading()``) shares
    the database with them and is held to reading (``query_only``)."""
    if connection.get_execution_options().get(_READING):
        connection.exec_driver_sql("PRAGMA query_only = 1")
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("PRAGMA query_only = 0")
        connection.exec_driver_sql("BEGIN IMMEDIATE")
