"""Read the records behind persons' addresses out of the store."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import PersonRecord, SourceRecord
from caseline.profiles.address_evidence import RECORD_COLUMNS

_SELECTED = (
    PersonRecord.person_id,
    SourceRecord.record_id,
    SourceRecord.source,
    SourceRecord.observed_on,
    SourceRecord.valid_from,
    SourceRecord.valid_to,
    SourceRecord.street_number,
    SourceRecord.street,
    SourceRecord.unit,
    SourceRecord.city,
    SourceRecord.state,
    SourceRecord.postcode,
)


def load_address_records(session: Session, person_id: str | None = None) -> pd.DataFrame:
    """Every record in a person (or in the one person named), sorted by person."""
    query = select(*_SELECTED).join(PersonRecord, PersonRecord.record_id == SourceRecord.record_id)
    if person_id is not None:
        query = query.where(PersonRecord.person_id == person_id)
    rows = session.execute(query.order_by(PersonRecord.person_id, SourceRecord.record_id)).all()
    frame = pd.DataFrame(rows, columns=list(RECORD_COLUMNS))
    return frame.astype(object).where(frame.notna(), None)
