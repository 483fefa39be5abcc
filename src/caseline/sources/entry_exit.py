"""Border crossings: passport names in upper case, '15 MAR 1980' dates, passport and citizenship."""

from __future__ import annotations

from functools import partial

from caseline.sources.base import CanonicalRecord, FieldError, Row, SourceAdapter
from caseline.standardise import clean_name, clean_passport, parse_date, parse_date_of_birth
from caseline.standardise.codes import clean_sex
from caseline.standardise.values import blank_to_none

PASSPORT_DATE = "%d %b %Y"
EVENT_TYPES = frozenset({"ENTRY", "EXIT"})


class EntryExitSource(SourceAdapter):
    name = "entry_exit"
    key_column = "event_id"
    columns = (
        "event_id", "event_type", "event_date", "port", "passport_number", "citizenship", "surname",
        "given_names", "date_of_birth", "sex",
    )  # fmt: skip

    def to_record(self, row: Row) -> CanonicalRecord:
        event_type = (blank_to_none(row.get("event_type")) or "").upper()
        if event_type not in EVENT_TYPES:
            raise FieldError("event_type", f"{event_type!r} is not ENTRY or EXIT")
        given_names = (row.value("given_names", clean_name) or "").split()
        return CanonicalRecord(
            source=self.name,
            source_key=row["event_id"].strip(),
            observed_on=row.value("event_date", parse_date),
            full_name_raw=" ".join(filter(None, (row.get("given_names"), row.get("surname")))),
            given_name=given_names[0] if given_names else None,
            middle_name=" ".join(given_names[1:]) or None,
            family_name=row.value("surname", clean_name),
            date_of_birth=row.value(
                "date_of_birth", partial(parse_date_of_birth, fmt=PASSPORT_DATE)
            ),
            sex=row.value("sex", clean_sex),
            passport_number=row.value("passport_number", clean_passport),
            citizenship=(blank_to_none(row.get("citizenship")) or "").upper() or None,
            extra={"event_type": event_type, "port": blank_to_none(row.get("port"))},
        )
