"""Engine and session scope: one way to open a transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


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

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits if the block succeeds and rolls back everything if not."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    # A server that is down is reported within seconds, not after the system's TCP timeout;
    # a request waits at most POOL_WAIT_SECONDS for a connection (then 503), and each process
    # keeps up to POOL_SIZE + POOL_OVERFLOW of them.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=POOL_WAIT_SECONDS,
        connect_args={"connect_timeout": 5},
    )


POOL_SIZE = 10  # the threads a worker serves requests on (Starlette's pool) seldom exceed it
POOL_OVERFLOW = 10
POOL_WAIT_SECONDS = 10


def _bound_statements(milliseconds: int, dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {int(milliseconds)}")
    dbapi_connection.commit()


def _configure_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # The driver's own transaction handling starts transactions lazily, at the first write,
    # so two requests could both read the audit chain's tail before either appends to it.
    # Caseline begins every transaction itself (see _begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Bulk loads insert into several indexes at random places; a small page cache thrashes.
    cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _begin_immediate(connection) -> None:  # type: ignore[no-untyped-def]
    """Take SQLite's write lock at the start: transactions run one after another, never fail."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")
