"""Immigration benefit events: applications, grants, denials, registrations, with the A-number."""

from __future__ import annotations

from functools import partial

from caseline.sources.base import CanonicalRecord, FieldError, Row, SourceAdapter
from caseline.standardise import (
    NO_ADDRESS,
    clean_a_number,
    clean_name,
    parse_address_line,
    parse_date,
    parse_date_of_birth,
)
from caseline.standardise.dates import US
from caseline.standardise.values import blank_to_none


class ImmigrationStatusSource(SourceAdapter):
    name = "immigration_status"
    key_column = "receipt_number"
    columns = (
        "receipt_number", "a_number", "family_name", "given_name", "middle_name", "date_of_birth",
        "country_of_birth", "event_type", "benefit", "event_date", "mailing_address",
    )  # fmt: skip

    def to_record(self, row: Row) -> CanonicalRecord:
        event_type = blank_to_none(row.get("event_type"))
        benefit = blank_to_none(row.get("benefit"))
        if event_type is None or benefit is None:
            raise FieldError("event_type" if event_type is None else "benefit", "is empty")
        address = row.value("mailing_address", parse_address_line) or NO_ADDRESS
        return CanonicalRecord(
            source=self.name,
            source_key=row["receipt_number"].strip(),
            observed_on=row.value("event_date", parse_date),
            full_name_raw=" ".join(filter(None, (row.get("given_name"), row.get("family_name")))),
            given_name=row.value("given_name", clean_name),
            middle_name=row.value("middle_name", clean_name),
            family_name=row.value("family_name", clean_name),
            date_of_birth=row.value("date_of_birth", partial(parse_date_of_birth, fmt=US)),
            a_number=row.value("a_number", clean_a_number),
            country_of_birth=blank_to_none(row.get("country_of_birth")),
            address_raw=blank_to_none(row.get("mailing_address")),
            **address.parts(),
            extra={"event_type": event_type.upper(), "benefit": benefit.upper()},
        )
