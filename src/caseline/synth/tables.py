"""The files a world is written to: their columns, in order, and a columnar buffer for a chunk."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter

import pyarrow as pa

SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "motor_vehicle": (
        "licence_number", "first_name", "middle_name", "last_name", "suffix", "dob", "sex",
        "street_address", "city", "state", "zip", "issued_on", "expires_on", "transaction",
        "vehicle_plate", "vehicle_make", "vehicle_year",
    ),
    "tax": (
        "filing_id", "tin", "taxpayer_name", "date_of_birth", "employer", "address", "tax_year",
    ),
    "utility": (
        "account_number", "customer_name", "service_address", "service_city", "service_state",
        "service_zip", "service_start", "service_end",
    ),
    "entry_exit": (
        "event_id", "event_type", "event_date", "port", "passport_number", "citizenship", "surname",
        "given_names", "date_of_birth", "sex",
    ),
    "immigration_status": (
        "receipt_number", "a_number", "family_name", "given_name", "middle_name", "date_of_birth",
        "country_of_birth", "event_type", "benefit", "event_date", "mailing_address",
    ),
    "court": (
        "hearing_id", "case_number", "a_number", "respondent_name", "date_of_birth", "hearing_date",
        "hearing_type", "outcome", "departure_deadline", "address",
    ),
}  # fmt: skip
SOURCE_KEYS = {
    "motor_vehicle": "transaction", "tax": "filing_id", "utility": "account_number",
    "entry_exit": "event_id", "immigration_status": "receipt_number", "court": "hearing_id",
}  # fmt: skip
TRUTH_COLUMNS: dict[str, tuple[str, ...]] = {
    "truth": ("source", "source_key", "entity_id", "group", "errors"),
    "persons": (
        "entity_id", "household_id", "group", "role", "sex", "given_name", "middle_name",
        "family_name", "second_family_name", "suffix", "date_of_birth", "country_of_birth",
        "citizenship", "us_born", "entered_on", "departed_on", "status", "renter", "twin_of",
        "previous_family_name", "name_changed_on", "current_address",
    ),
    "residences": (
        "entity_id", "street_number", "street", "unit", "city", "state", "postcode", "address",
        "moved_in", "moved_out",
    ),
    "statuses": ("entity_id", "status", "since", "until"),
}  # fmt: skip
ALL_COLUMNS: dict[str, tuple[str, ...]] = {**SOURCE_COLUMNS, **TRUTH_COLUMNS}


class ChunkTables:
    """The rows of every file of a world, for one chunk; written out at the end.

    Rows are dicts keyed by column (readable where they are made), except truth rows: one per
    record, the hottest path, so they are tuples in ``TRUTH_COLUMNS["truth"]`` order.
    """

    def __init__(self) -> None:
        self.rows: dict[str, list[Mapping[str, str]]] = {name: [] for name in ALL_COLUMNS}
        self.truth: list[tuple[str, str, str, str, str]] = []

    def add(self, table: str, row: Mapping[str, str]) -> None:
        self.rows[table].append(row)

    def row_counts(self) -> dict[str, int]:
        return {**{name: len(rows) for name, rows in self.rows.items()}, "truth": len(self.truth)}

    def _tuples(self, name: str) -> Iterable[Sequence[str]]:
        """Each row as values in column order; a dict row missing a column raises KeyError."""
        if name == "truth":
            return self.truth
        return map(itemgetter(*ALL_COLUMNS[name]), self.rows[name])

    def to_csv(self) -> dict[str, str]:
        """Each file's rows as CSV text, without the header."""
        texts = {}
        for name in ALL_COLUMNS:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(self._tuples(name))
            texts[name] = buffer.getvalue()
        return texts

    def to_arrow(self) -> dict[str, pa.Table]:
        """Each file's rows as an Arrow table of text columns."""
        tables = {}
        for name, columns in ALL_COLUMNS.items():
            values = list(zip(*self._tuples(name), strict=True)) or [() for _ in columns]
            # pa.array converts a list many times faster than a tuple.
            arrays = [pa.array(list(column), type=pa.string()) for column in values]
            tables[name] = pa.table(arrays, schema=schema(name))
        return tables


def schema(name: str) -> pa.Schema:
    return pa.schema([(column, pa.string()) for column in ALL_COLUMNS[name]])
