"""Read the records behind persons' addresses out of the store, with the name leads."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from caseline.db.models import PersonRecord, SourceRecord
from caseline.profiles.address_evidence import RECORD_COLUMNS
from caseline.profiles.address_leads import (
    IDENTIFIER_COLUMNS,
    MAX_CLAIMANTS,
    identifying,
    with_name_leads,
)

NAME_COLUMNS = ("given_name", "family_name", "date_of_birth")
_SELECTED = (
    PersonRecord.person_id,
    *(getattr(SourceRecord, c) for c in RECORD_COLUMNS[1:]),
    *(getattr(SourceRecord, c) for c in (*NAME_COLUMNS, *IDENTIFIER_COLUMNS)),
)
_COLUMNS = [*RECORD_COLUMNS, *NAME_COLUMNS, *IDENTIFIER_COLUMNS]


def load_address_records(session: Session, person_id: str | None = None) -> pd.DataFrame:
    """Every record in a person, with the name leads added (see :mod:`address_leads`),
    sorted by person.

    With ``person_id``: that person's records and leads, beside the records of other persons
    that finding the leads needed (take the person's rows; in no set order). Its leads are
    exactly those the whole store gives it, read from far fewer rows (:func:`_lead_sources`).
    """
    if person_id is None:
        return with_name_leads(_read(session, None))
    return with_name_leads(_lead_sources(session, person_id))


def _lead_sources(session: Session, person_id: str) -> pd.DataFrame:
    """The person's records and those of the other persons that decide its leads.

    A lead of the person comes from a thin person's record of one of its (given, family)
    names, when no other identified person bears that name too. So what decides it is: every
    record of another person in one of its names (who bears the name, and the thin persons'
    addresses), and, for a bearer none of whose such records identifies it, all its records
    (whether it is thin), unless identified bearers already crowd every name it bears. A
    thin person is no one's claimant and has no leads: its own records are all it needs.
    """
    own = _read(session, PersonRecord.person_id == person_id)
    names = _full_names(own)
    if not names or not identifying(own).any():
        return own
    in_its_names = (
        and_(SourceRecord.given_name == given, SourceRecord.family_name == family)
        for given, family in names
    )
    bearers = _read(session, and_(PersonRecord.person_id != person_id, or_(*in_its_names)))
    shown = bearers[identifying(bearers)]
    crowded = {  # names more identified persons bear (the person too) than a lead allows
        name for name, count in _bearers_per_name(shown).items() if count + 1 > MAX_CLAIMANTS
    }
    unproven = bearers[~bearers["person_id"].isin(set(shown["person_id"]))]
    undecided = sorted(
        {
            person
            for person, name in zip(unproven["person_id"], _name_pairs(unproven), strict=True)
            if name not in crowded
        }
    )
    if bearers.empty:
        return own
    frames = [own, bearers[~bearers["person_id"].isin(undecided)]]
    if undecided:
        frames.append(_read(session, PersonRecord.person_id.in_(undecided)))
    return pd.concat(frames, ignore_index=True)


def _read(session: Session, condition: ColumnElement[bool] | None) -> pd.DataFrame:
    query = select(*_SELECTED).join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
    if condition is not None:
        query = query.where(condition)
    rows = session.execute(query.order_by(PersonRecord.person_id, SourceRecord.record_id)).all()
    return pd.DataFrame(rows, columns=_COLUMNS, dtype=object)  # a missing value is None


def _name_pairs(records: pd.DataFrame) -> list[tuple[object, object]]:
    return list(zip(records["given_name"], records["family_name"], strict=True))


def _full_names(records: pd.DataFrame) -> set[tuple[object, object]]:
    """The (given, family) names the records give in full."""
    named = records["given_name"].notna() & records["family_name"].notna()
    return set(_name_pairs(records[named]))


def _bearers_per_name(records: pd.DataFrame) -> dict[tuple[object, object], int]:
    counted: dict[tuple[object, object], set[object]] = {}
    for person, name in zip(records["person_id"], _name_pairs(records), strict=True):
        counted.setdefault(name, set()).add(person)
    return {name: len(persons) for name, persons in counted.items()}
