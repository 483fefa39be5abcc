"""Tax filings: 'FAMILY, GIVEN M' names, US dates, SSN or ITIN, employer, a one-line address."""

from __future__ import annotations

import datetime as dt
import re
from functools import partial

from caseline.sources.base import CanonicalRecord, FieldError, Row, SourceAdapter
from caseline.standardise import (
    NO_ADDRESS,
    NO_NAME,
    clean_tin,
    parse_address_line,
    parse_date_of_birth,
    split_full_name,
)
from caseline.standardise.dates import US
from caseline.standardise.values import blank_to_none

_YEAR = re.compile(r"^(19|20)\d\d$")


class TaxSource(SourceAdapter):
    name = "tax"
    key_column = "filing_id"
    columns = (
        "filing_id",
        "tin",
        "taxpayer_name",
        "date_of_birth",
        "employer",
        "address",
        "tax_year",
    )

    def to_record(self, row: Row) -> CanonicalRecord:
        name = row.value("taxpayer_name", split_full_name) or NO_NAME
        address = row.value("address", parse_address_line) or NO_ADDRESS
        tin = row.value("tin", clean_tin)
        year = blank_to_none(row.get("tax_year"))
        if year is not None and _YEAR.match(year) is None:
            raise FieldError("tax_year", f"{year!r} is not a four-digit year")
        return CanonicalRecord(
            source=self.name,
            source_key=row["filing_id"].strip(),
            # A filing speaks for the end of its tax year.
            observed_on=dt.date(int(year), 12, 31) if year else None,
            full_name_raw=blank_to_none(row.get("taxpayer_name")),
            given_name=name.given,
            middle_name=name.middle,
            family_name=name.family,
            suffix=name.suffix,
            date_of_birth=row.value("date_of_birth", partial(parse_date_of_birth, fmt=US)),
            ssn=tin[1] if tin and tin[0] == "ssn" else None,
            itin=tin[1] if tin and tin[0] == "itin" else None,
            address_raw=blank_to_none(row.get("address")),
            **address.parts(),
            extra={"employer": blank_to_none(row.get("employer")), "tax_year": year},
        )
