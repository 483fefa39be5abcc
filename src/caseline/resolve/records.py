"""Read the record store into the frame the model compares."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseline.db.models import SourceRecord
from caseline.resolve.model import STORED_COLUMNS

_SELECTED = (
    SourceRecord.record_id,
    SourceRecord.given_name,
    SourceRecord.middle_name,
    SourceRecord.family_name,
    SourceRecord.suffix,
    SourceRecord.sex,
    SourceRecord.date_of_birth,
    SourceRecord.ssn_hash,
    SourceRecord.itin_hash,
    SourceRecord.a_number_hash,
    SourceRecord.passport_hash,
    SourceRecord.licence_hash,
    SourceRecord.other_id_hash,
    SourceRecord.identifier_typo_keys,
    SourceRecord.street_number,
    SourceRecord.street,
    SourceRecord.unit,
    SourceRecord.postcode,
    SourceRecord.city,
)


def load_model_frame(session: Session, record_ids: list[str] | None = None) -> pd.DataFrame:
    """One row per source record (all, or those named), with the stored model columns."""
    query = select(*_SELECTED).order_by(SourceRecord.record_id)
    if record_ids is not None:
        query = query.where(SourceRecord.record_id.in_(record_ids))
    raw = pd.DataFrame(session.execute(query).all(), columns=[c.key for c in _SELECTED])
    return model_frame(raw)


def model_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """Stored columns (as named in ``source_records``) -> the model's input columns."""
    frame = pd.DataFrame(
        {
            "unique_id": raw["record_id"],
            **{
                column: raw[column]
                for column in STORED_COLUMNS
                if column in raw.columns and column != "unique_id"
            },
        }
    )
    frame["date_of_birth"] = [d.isoformat() if d else None for d in raw["date_of_birth"]]
    frame["street_key"] = [
        f"{n} {s} {c or ''}".strip() if n and s else None
        for n, s, c in zip(raw["street_number"], raw["street"], raw["city"], strict=True)
    ]
    frame["address_key"] = [
        " ".join(filter(None, (n, s, u, p))) if n and s else None
        for n, s, u, p in zip(
            raw["street_number"], raw["street"], raw["unit"], raw["postcode"], strict=True
        )
    ]
    frame = frame.reindex(columns=list(STORED_COLUMNS))  # a frame made before typo keys has none
    return frame.astype(object).where(frame.notna(), None)


def present_columns(frame: pd.DataFrame, share: float = 0.02) -> set[str]:
    """Columns filled in at least ``share`` of the records (the rest cannot train the model)."""
    return {column for column in frame.columns if frame[column].notna().mean() >= share}


def count_records(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(SourceRecord)) or 0
