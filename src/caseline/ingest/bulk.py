"""The bulk path for source records: the database driver's own bulk insert, not the ORM's.

SQLAlchemy's executemany spends more time preparing parameters than SQLite spends storing
them; PostgreSQL's COPY (binary: nothing for the server to parse) is several times faster than any
INSERT. Both write exactly the
values an ORM insert would (ISO dates, JSON documents), in the caller's transaction.

Records arrive as columns: dates as ISO text and ``extra`` as JSON text already. SQLite is
given only the columns a batch fills, and a NULL as the integer 0 under ``NULLIF(?, 0)``
(no text value is an integer): the sqlite3 module binds None several times slower than
text or a number.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Date, Table, insert
from sqlalchemy.orm import Session

from caseline.db.models import SourceRecord

COLUMNS: tuple[str, ...] = tuple(column.name for column in SourceRecord.__table__.columns)
DATE_COLUMNS = frozenset(c.name for c in SourceRecord.__table__.columns if isinstance(c.type, Date))
_INTEGER_COLUMNS = frozenset({"ingest_run_id", "line_number"})
# The type each column is sent as in a binary COPY.
_COPY_TYPES = {
    c.name: "date" if c.name in DATE_COLUMNS else "int4" if c.name in _INTEGER_COLUMNS else "text"
    for c in SourceRecord.__table__.columns
}
DEFER_INDEXES_FROM = 50_000  # rows; a smaller load keeps the indexes as they are


@contextmanager
def indexes_built_after(session: Session, incoming_rows: int) -> Iterator[None]:
    """A load much larger than what is stored goes in without the records' secondary
    indexes, which are built again, as they were, when the block ends.

    Sorting a million keys into a new index costs less than placing each at random in six
    indexes as it comes. On PostgreSQL the foreign keys are checked after, likewise: once,
    by one join, rather than by a trigger's query per row. It is all one transaction: a
    failure (or a kill) rolls the drop back with the rest. On SQLite readers (WAL) go on
    seeing the indexes meanwhile; on PostgreSQL the drop locks the table, so readers of the
    records wait for the load to end.
    """
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect not in _SECONDARY_INDEXES or incoming_rows < DEFER_INDEXES_FROM:
        yield
        return
    driver: Any = connection.connection.driver_connection
    enough = int(incoming_rows / 1.5)  # counted no further: a bigger store keeps its indexes
    stored = driver.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM source_records LIMIT {enough}) AS kept"  # noqa: S608
    ).fetchone()[0]
    if stored >= enough:
        yield
        return
    indexes = driver.execute(_SECONDARY_INDEXES[dialect]).fetchall()
    for name, _ in indexes:
        driver.execute(f'DROP INDEX "{name}"')
    foreign_keys = []
    if dialect == "postgresql":
        driver.execute("SET LOCAL maintenance_work_mem = '256MB'")
        foreign_keys = driver.execute(_FOREIGN_KEYS).fetchall()
        for name, _ in foreign_keys:
            driver.execute(f'ALTER TABLE source_records DROP CONSTRAINT "{name}"')
    yield
    for _, sql in indexes:
        driver.execute(sql)
    for name, definition in foreign_keys:
        driver.execute(f'ALTER TABLE source_records ADD CONSTRAINT "{name}" {definition}')


# (name, the statement that makes it) of each index of source_records that no constraint
# needs, by dialect.
_SECONDARY_INDEXES = {
    "sqlite": "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
    "AND tbl_name = 'source_records' AND sql IS NOT NULL",
    "postgresql": "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index AS i "
    "JOIN pg_class AS c ON c.oid = i.indexrelid "
    "WHERE i.indrelid = 'source_records'::regclass AND NOT i.indisprimary "
    "AND NOT i.indisunique",
}

_FOREIGN_KEYS = (
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conrelid = 'source_records'::regclass AND contype = 'f'"
)


def write_source_records(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts keyed by column, dates and ``extra`` as Python values)."""
    if not rows:
        return
    columns: dict[str, list[Any]] = {c: [row.get(c) for row in rows] for c in COLUMNS}
    for name in DATE_COLUMNS:
        columns[name] = [d.isoformat() if d is not None else None for d in columns[name]]
    columns["extra"] = [json.dumps(e or {}) for e in columns["extra"]]
    write_source_columns(session, columns, len(rows))


def write_source_columns(session: Session, columns: Mapping[str, Sequence[Any]], size: int) -> None:
    """Insert ``size`` records given as columns (a column left out is NULL throughout), in
    the session's transaction."""
    if not size:
        return
    filled = {
        name: values
        for name in COLUMNS
        if (values := columns.get(name)) is not None and values.count(None) != len(values)
    }
    connection = session.connection()
    dialect = connection.dialect.name
    driver: Any = connection.connection.driver_connection
    if dialect == "postgresql":
        _copy(driver, filled)
    elif dialect == "sqlite":
        _sqlite_insert(driver, filled)
    else:  # any other database: the portable path, with Python values
        rows = [
            dict(zip(filled, values, strict=True)) for values in zip(*filled.values(), strict=True)
        ]
        for row in rows:
            for name in DATE_COLUMNS & row.keys():
                row[name] = dt.date.fromisoformat(row[name]) if row[name] else None
            row["extra"] = json.loads(row.get("extra") or "{}")
        connection.execute(insert(cast(Table, SourceRecord.__table__)), rows)


def _sqlite_insert(driver: Any, filled: dict[str, Sequence[Any]]) -> None:
    placeholders = []
    values: list[Sequence[Any]] = []
    for name, column in filled.items():
        if name in _INTEGER_COLUMNS or column.count(None) == 0:
            placeholders.append("?")
            values.append(column)
        else:
            placeholders.append("NULLIF(?, 0)")
            values.append([0 if v is None else v for v in column])
    # Built from the model's own column names, never from input.
    sql = (
        f"INSERT INTO source_records ({', '.join(filled)}) "  # noqa: S608
        f"VALUES ({', '.join(placeholders)})"
    )
    driver.executemany(sql, zip(*values, strict=True))


def _copy(driver: Any, filled: dict[str, Sequence[Any]]) -> None:
    """COPY in PostgreSQL's binary format: no text for the server to parse, nothing to
    escape; ``extra`` goes as its JSON text (the binary form of ``json``)."""
    columns = [
        _dates(column) if name in DATE_COLUMNS else column for name, column in filled.items()
    ]
    statement = f"COPY source_records ({', '.join(filled)}) FROM STDIN (FORMAT BINARY)"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types([_COPY_TYPES[name] for name in filled])
        write = copy.write_row
        for row in zip(*columns, strict=True):
            write(row)


def _dates(column: Sequence[str | None]) -> list[dt.date | None]:
    known = {text: dt.date.fromisoformat(text) if text else None for text in set(column)}
    return [known[text] for text in column]
