"""Tax filings: 'FAMILY, GIVEN M' names, US dates, SSN, employer, a one-line address."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import partial

from caseline.sources.base import CanonicalRecord, FieldError, SourceAdapter, field_value
from caseline.standardise import clean_ssn, parse_address_line, parse_date_of_birth, split_full_name
from caseline.standardise.dates import US
from caseline.standardise.values import blank_to_none


class TaxSource(SourceAdapter):
    name = "tax"
    key_column = "filing_id"
    columns = (
        "filing_id", "ssn", "taxpayer_name", "date_of_birth", "employer", "address", "tax_year",
    )  # fmt: skip

    def to_record(self, row: Mapping[str, str]) -> CanonicalRecord:
        name = field_value(row, "taxpayer_name", split_full_name)
        address = field_value(row, "address", parse_address_line)
        year = blank_to_none(row.get("tax_year"))
        if year is not None and not (year.isdigit() and 1900 < int(year) < 2100):
            raise FieldError("tax_year", f"{year!r} is not a year")
        return CanonicalRecord(
            source=self.name,
            source_key=row["filing_id"].strip(),
            # A filing speaks for the end of its tax year.
            observed_on=dt.date(int(year), 12, 31) if year else None,
            full_name_raw=blank_to_none(row.get("taxpayer_name")),
            given_name=name.given,
            middle_name=name.middle,
            family_name=name.family,
            date_of_birth=field_value(row, "date_of_birth", partial(parse_date_of_birth, fmt=US)),
            ssn=field_value(row, "ssn", clean_ssn),
            address_raw=blank_to_none(row.get("address")),
            street_number=address.street_number,
            street=address.street,
            unit=address.unit,
            city=address.city,
            state=address.state,
            postcode=address.postcode,
            extra={"employer": blank_to_none(row.get("employer")), "tax_year": year},
        )
