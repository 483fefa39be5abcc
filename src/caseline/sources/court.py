"""Immigration court hearings: 'FAMILY, Given' names, outcomes, departure deadlines."""

from __future__ import annotations

from caseline.sources.base import CanonicalRecord, FieldError, Row, SourceAdapter
from caseline.standardise import (
    NO_ADDRESS,
    NO_NAME,
    clean_a_number,
    parse_address_line,
    parse_date,
    parse_date_of_birth,
    split_full_name,
)
from caseline.standardise.values import blank_to_none


class CourtSource(SourceAdapter):
    name = "court"
    key_column = "hearing_id"
    columns = (
        "hearing_id", "case_number", "a_number", "respondent_name", "date_of_birth", "hearing_date",
        "hearing_type", "outcome", "departure_deadline", "address",
    )  # fmt: skip

    def to_record(self, row: Row) -> CanonicalRecord:
        name = row.value("respondent_name", split_full_name) or NO_NAME
        address = row.value("address", parse_address_line) or NO_ADDRESS
        outcome = blank_to_none(row.get("outcome"))
        if outcome is None:
            raise FieldError("outcome", "is empty")
        deadline = row.value("departure_deadline", parse_date)
        return CanonicalRecord(
            source=self.name,
            source_key=row["hearing_id"].strip(),
            observed_on=row.value("hearing_date", parse_date),
            full_name_raw=blank_to_none(row.get("respondent_name")),
            given_name=name.given,
            middle_name=name.middle,
            family_name=name.family,
            suffix=name.suffix,
            date_of_birth=row.value("date_of_birth", parse_date_of_birth),
            a_number=row.value("a_number", clean_a_number),
            address_raw=blank_to_none(row.get("address")),
            **address.parts(),
            extra={
                "case_number": blank_to_none(row.get("case_number")),
                "hearing_type": blank_to_none(row.get("hearing_type")),
                "outcome": outcome.upper(),
                "departure_deadline": deadline.isoformat() if deadline else None,
            },
        )
