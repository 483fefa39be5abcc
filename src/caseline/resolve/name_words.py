"""The words of every name a person's records give, stored for search (``person_name_words``).

Search matches typed words against this vocabulary (forgiving typos and word order), then
finds the persons who hold the matched words. A resolution run rebuilds the table with the
persons it stores; incremental placement and anything else that changes a person's records
refresh only those persons.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.orm import Session

from caseline.db.models import PersonNameWord, PersonRecord, SourceRecord

MAX_WORD_LENGTH = 64
_CHUNK = 500  # ids per IN (...) list
_BATCH = 20_000  # rows per insert


def name_words(*parts: str | None) -> set[str]:
    """The words of standardised name parts, and a part of several words run together (as
    it is often typed): 'JI-MIN', 'YAN' -> {'JI', 'MIN', 'JIMIN', 'YAN'}."""
    words: set[str] = set()
    for part in parts:
        if not part:
            continue
        split = part.replace("-", " ").split()
        if len(split) > 1:
            split.append("".join(split))
        words.update(w for w in split if len(w) <= MAX_WORD_LENGTH)
    return words


def store_name_words(session: Session) -> int:
    """Replace every person's words with those their records give now; the rows written."""
    session.execute(delete(PersonNameWord))
    return _insert(session, _pairs(session.execute(_names())))


def refresh_name_words(session: Session, person_ids: Iterable[str]) -> int:
    """Rewrite the words of these persons only (a person with no records left gets none)."""
    wanted = sorted(set(person_ids))
    written = 0
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        session.execute(delete(PersonNameWord).where(PersonNameWord.person_id.in_(chunk)))
        rows = session.execute(_names().where(PersonRecord.person_id.in_(chunk)))
        written += _insert(session, _pairs(rows))
    return written


def _names() -> Select[str, str | None, str | None, str | None]:
    return select(
        PersonRecord.person_id,
        SourceRecord.given_name,
        SourceRecord.middle_name,
        SourceRecord.family_name,
    ).join(SourceRecord, SourceRecord.record_id == PersonRecord.record_id)


def _pairs(rows: Iterable[tuple[str, str | None, str | None, str | None]]) -> set[tuple[str, str]]:
    return {(word, person_id) for person_id, *parts in rows for word in name_words(*parts)}


def _insert(session: Session, pairs: set[tuple[str, str]]) -> int:
    for batch in _batches(sorted(pairs)):
        session.execute(insert(PersonNameWord), [{"word": w, "person_id": p} for w, p in batch])
    return len(pairs)


def _batches(pairs: list[tuple[str, str]]) -> Iterator[list[tuple[str, str]]]:
    for start in range(0, len(pairs), _BATCH):
        yield pairs[start : start + _BATCH]
