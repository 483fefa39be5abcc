"""Find persons by name."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from caseline.db.models import Person
from caseline.errors import InputError
from caseline.oversight import Actor, PersonsSearched, permit
from caseline.standardise import InvalidValue, clean_name

MAX_RESULTS = 50


@dataclass(frozen=True, slots=True)
class PersonSummary:
    person_id: str
    display_name: str
    record_count: int


def search_persons(
    session: Session, query: str, *, actor: Actor, purpose: str | None, limit: int = 20
) -> list[PersonSummary]:
    """Persons whose best-known name has every word of ``query`` (accents and case ignored).

    Whole words only, so a fragment cannot page through everyone; needs a purpose, audited.
    """
    allowed = permit(actor, PersonsSearched, purpose)
    try:
        words = (clean_name(query) or "").replace("-", " ").split()
    except InvalidValue:
        words = []
    if not words:
        raise InputError("search needs at least one word of a name", where="query")
    padded = literal(" ") + Person.display_name + literal(" ")
    statement = select(Person)
    for word in words:
        statement = statement.where(padded.contains(f" {word} ", autoescape=True))
    found = session.scalars(
        statement.order_by(Person.display_name, Person.person_id).limit(min(limit, MAX_RESULTS))
    ).all()
    results = [PersonSummary(p.person_id, p.display_name, p.record_count) for p in found]
    allowed.record(
        session,
        PersonsSearched(query=" ".join(words), results=tuple(r.person_id for r in results)),
    )
    return results
