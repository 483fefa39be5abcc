"""Utility accounts: 'Given Family' names, a service address and its service dates."""

from __future__ import annotations

from caseline.sources.base import (
    CanonicalRecord,
    FieldError,
    Row,
    SourceAdapter,
)
from caseline.standardise import NO_NAME, clean_name, normalise_street, parse_date, split_full_name
from caseline.standardise.codes import clean_us_postcode, clean_us_state
from caseline.standardise.values import blank_to_none


class UtilitySource(SourceAdapter):
    name = "utility"
    key_column = "account_number"
    columns = (
        "account_number", "customer_name", "service_address", "service_city", "service_state",
        "service_zip", "service_start", "service_end",
    )  # fmt: skip

    def to_record(self, row: Row) -> CanonicalRecord:
        name = row.value("customer_name", split_full_name) or NO_NAME
        number, street, unit = normalise_street(row.get("service_address"))
        start = row.value("service_start", parse_date)
        end = row.value("service_end", parse_date)
        if start and end and end < start:
            raise FieldError("service_end", f"service ends ({end}) before it starts ({start})")
        return CanonicalRecord(
            source=self.name,
            source_key=row["account_number"].strip(),
            observed_on=end or start,
            valid_from=start,
            valid_to=end,
            full_name_raw=blank_to_none(row.get("customer_name")),
            given_name=name.given,
            middle_name=name.middle,
            family_name=name.family,
            suffix=name.suffix,
            address_raw=blank_to_none(row.get("service_address")),
            street_number=number,
            street=street,
            unit=unit,
            city=row.value("service_city", clean_name),
            state=row.value("service_state", clean_us_state),
            postcode=row.value("service_zip", clean_us_postcode),
        )
