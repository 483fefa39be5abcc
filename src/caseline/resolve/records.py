"""Read the record store into the frame the model compares."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseline.db.models import SourceRecord
from caseline.resolve.model import MODEL_COLUMNS


def load_model_frame(session: Session) -> pd.DataFrame:
    """One row per source record, with the model's columns (missing values as None)."""
    rows = session.execute(
        select(
            SourceRecord.record_id,
            SourceRecord.given_name,
            SourceRecord.middle_name,
            SourceRecord.family_name,
            SourceRecord.date_of_birth,
            SourceRecord.ssn_hash,
            SourceRecord.itin_hash,
            SourceRecord.a_number_hash,
            SourceRecord.passport_hash,
            SourceRecord.licence_hash,
            SourceRecord.other_id_hash,
            SourceRecord.street_number,
            SourceRecord.street,
            SourceRecord.postcode,
            SourceRecord.city,
        ).order_by(SourceRecord.record_id)
    ).all()
    frame = pd.DataFrame(
        [
            {
                "unique_id": r.record_id,
                "given_name": r.given_name,
                "middle_name": r.middle_name,
                "family_name": r.family_name,
                "date_of_birth": r.date_of_birth.isoformat() if r.date_of_birth else None,
                "ssn_hash": r.ssn_hash,
                "itin_hash": r.itin_hash,
                "a_number_hash": r.a_number_hash,
                "passport_hash": r.passport_hash,
                "licence_hash": r.licence_hash,
                "other_id_hash": r.other_id_hash,
                "address_key": _address_key(r.street_number, r.street, r.postcode),
                "postcode": r.postcode,
                "city": r.city,
            }
            for r in rows
        ],
        columns=list(MODEL_COLUMNS),
    )
    return frame.astype(object).where(frame.notna(), None)


def present_columns(frame: pd.DataFrame, share: float = 0.05) -> set[str]:
    """Columns filled in at least ``share`` of the records (the rest cannot train the model)."""
    return {column for column in frame.columns if frame[column].notna().mean() >= share}


def count_records(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(SourceRecord)) or 0


def _address_key(number: str | None, street: str | None, postcode: str | None) -> str | None:
    if not (number and street):
        return None
    return f"{number} {street} {postcode or ''}".strip()
