"""Motor-vehicle licences: names in parts, ISO dates, the address at issue time."""

from __future__ import annotations

from collections.abc import Mapping

from caseline.sources.base import CanonicalRecord, SourceAdapter, field_value
from caseline.standardise import clean_name, normalise_street, parse_date, parse_date_of_birth
from caseline.standardise.values import blank_to_none


class MotorVehicleSource(SourceAdapter):
    name = "motor_vehicle"
    key_column = "licence_number"
    columns = (
        "licence_number", "first_name", "middle_name", "last_name", "dob", "sex",
        "street_address", "city", "state", "zip", "issued_on",
    )  # fmt: skip

    def to_record(self, row: Mapping[str, str]) -> CanonicalRecord:
        number, street, unit = normalise_street(row.get("street_address"))
        given = field_value(row, "first_name", clean_name)
        family = field_value(row, "last_name", clean_name)
        return CanonicalRecord(
            source=self.name,
            source_key=row["licence_number"].strip(),
            observed_on=field_value(row, "issued_on", parse_date),
            full_name_raw=" ".join(filter(None, (row.get("first_name"), row.get("last_name")))),
            given_name=given,
            middle_name=field_value(row, "middle_name", clean_name),
            family_name=family,
            date_of_birth=field_value(row, "dob", parse_date_of_birth),
            sex=(blank_to_none(row.get("sex")) or "").upper()[:1] or None,
            licence_number=row["licence_number"].strip(),
            address_raw=blank_to_none(row.get("street_address")),
            street_number=number,
            street=street,
            unit=unit,
            city=field_value(row, "city", clean_name),
            state=(blank_to_none(row.get("state")) or "").upper() or None,
            postcode=blank_to_none(row.get("zip")),
        )
