"""Motor-vehicle licence transactions: names in parts, ISO dates, the address on file."""

from __future__ import annotations

from caseline.sources.base import (
    CanonicalRecord,
    Row,
    SourceAdapter,
)
from caseline.standardise import clean_name, normalise_street, parse_date, parse_date_of_birth
from caseline.standardise.codes import (
    clean_identifier,
    clean_sex,
    clean_us_postcode,
    clean_us_state,
)
from caseline.standardise.values import blank_to_none


class MotorVehicleSource(SourceAdapter):
    name = "motor_vehicle"
    key_column = "transaction"
    columns = (
        "licence_number", "first_name", "middle_name", "last_name", "suffix", "dob", "sex",
        "street_address", "city", "state", "zip", "issued_on", "transaction",
    )  # fmt: skip

    def to_record(self, row: Row) -> CanonicalRecord:
        number, street, unit = normalise_street(row.get("street_address"))
        return CanonicalRecord(
            source=self.name,
            source_key=row["transaction"].strip(),
            observed_on=row.value("issued_on", parse_date),
            full_name_raw=" ".join(filter(None, (row.get("first_name"), row.get("last_name"))))
            or None,
            given_name=row.value("first_name", clean_name),
            middle_name=row.value("middle_name", clean_name),
            family_name=row.value("last_name", clean_name),
            suffix=row.value("suffix", clean_name),
            date_of_birth=row.value("dob", parse_date_of_birth),
            sex=row.value("sex", clean_sex),
            licence_number=row.value("licence_number", clean_identifier),
            address_raw=blank_to_none(row.get("street_address")),
            street_number=number,
            street=street,
            unit=unit,
            city=row.value("city", clean_name),
            state=row.value("state", clean_us_state),
            postcode=row.value("zip", clean_us_postcode),
            extra={
                key: value
                for key in ("vehicle_plate", "vehicle_make", "vehicle_year", "expires_on")
                if (value := blank_to_none(row.get(key)))
            },
        )
