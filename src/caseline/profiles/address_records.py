"""Read the records behind persons' addresses out of the store, with the name leads."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from caseline.db.models import PersonRecord, SourceRecord
from caseline.profiles.address_evidence import RECORD_COLUMNS
from caseline.profiles.address_leads import IDENTIFIER_COLUMNS, with_name_leads

NAME_COLUMNS = ("given_name", "family_name", "date_of_birth")
_SELECTED = (
    PersonRecord.person_id,
    *(getattr(SourceRecord, c) for c in RECORD_COLUMNS[1:]),
    *(getattr(SourceRecord, c) for c in (*NAME_COLUMNS, *IDENTIFIER_COLUMNS)),
)
_COLUMNS = [*RECORD_COLUMNS, *NAME_COLUMNS, *IDENTIFIER_COLUMNS]


def load_address_records(session: Session, person_id: str | None = None) -> pd.DataFrame:
    """Every record in a person, or those of the one person named together with every
    person that shares one of its names (what its leads are found among); with the name
    leads added (see :mod:`address_leads`), sorted by person."""
    query = select(*_SELECTED).join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
    if person_id is not None:
        query = query.where(PersonRecord.person_id.in_(_namesakes(session, person_id)))
    rows = session.execute(query.order_by(PersonRecord.person_id, SourceRecord.record_id)).all()
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    frame = frame.astype(object).where(frame.notna(), None)
    return with_name_leads(frame)


def _namesakes(session: Session, person_id: str) -> list[str]:
    """The person and every person with a record of one of its (given, family) names."""
    names = session.execute(
        select(SourceRecord.given_name, SourceRecord.family_name)
        .join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
        .where(
            and_(
                PersonRecord.person_id == person_id,
                SourceRecord.given_name.is_not(None),
                SourceRecord.family_name.is_not(None),
            )
        )
        .distinct()
    ).all()
    persons = {person_id}
    if names:
        persons.update(
            session.scalars(
                select(PersonRecord.person_id)
                .join(SourceRecord, PersonRecord.record_id == SourceRecord.record_id)
                .where(
                    or_(
                        *(
                            and_(
                                SourceRecord.given_name == given, SourceRecord.family_name == family
                            )
                            for given, family in names
                        )
                    )
                )
            )
        )
    return sorted(persons)
