"""Immigration court hearings: 'FAMILY, Given' names, outcomes, departure deadlines."""

from __future__ import annotations

from collections.abc import Mapping

from caseline.sources.base import CanonicalRecord, FieldError, SourceAdapter, field_value
from caseline.standardise import (
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

    def to_record(self, row: Mapping[str, str]) -> CanonicalRecord:
        name = field_value(row, "respondent_name", split_full_name)
        address = field_value(row, "address", parse_address_line)
        outcome = blank_to_none(row.get("outcome"))
        if outcome is None:
            raise FieldError("outcome", "is empty")
        deadline = field_value(row, "departure_deadline", parse_date)
        return CanonicalRecord(
            source=self.name,
            source_key=row["hearing_id"].strip(),
            observed_on=field_value(row, "hearing_date", parse_date),
            full_name_raw=blank_to_none(row.get("respondent_name")),
            given_name=name.given,
            middle_name=name.middle,
            family_name=name.family,
            suffix=name.suffix,
            date_of_birth=field_value(row, "date_of_birth", parse_date_of_birth),
            a_number=field_value(row, "a_number", clean_a_number),
            address_raw=blank_to_none(row.get("address")),
            street_number=address.street_number,
            street=address.street,
            unit=address.unit,
            city=address.city,
            state=address.state,
            postcode=address.postcode,
            extra={
                "case_number": blank_to_none(row.get("case_number")),
                "hearing_type": blank_to_none(row.get("hearing_type")),
                "outcome": outcome.upper(),
                "departure_deadline": deadline.isoformat() if deadline else None,
            },
        )
