"""Standardisation: one normaliser per value type, in a registry. Pure functions, no I/O.

Every normaliser raises :class:`InvalidValue` with a reason a person can act on.
"""

from caseline.standardise.addresses import NO_ADDRESS, Address, normalise_street, parse_address_line
from caseline.standardise.dates import EARLIEST_YEAR, LATEST_YEAR, parse_date, parse_date_of_birth
from caseline.standardise.identifiers import (
    clean_a_number,
    clean_passport,
    clean_ssn,
    clean_tin,
    half_keys,
    keyed_hash,
    stored_match_keys,
    typo_keys,
)
from caseline.standardise.names import (
    NO_NAME,
    ParsedName,
    clean_name,
    family_name_key,
    given_name_equivalents,
    split_full_name,
)
from caseline.standardise.status import PROTECTIVE, STOPPING, StatusTerm, clean_status
from caseline.standardise.values import InvalidValue

__all__ = [
    "EARLIEST_YEAR",
    "LATEST_YEAR",
    "NO_ADDRESS",
    "NO_NAME",
    "PROTECTIVE",
    "STOPPING",
    "Address",
    "InvalidValue",
    "ParsedName",
    "StatusTerm",
    "clean_a_number",
    "clean_name",
    "clean_passport",
    "clean_ssn",
    "clean_status",
    "clean_tin",
    "family_name_key",
    "given_name_equivalents",
    "half_keys",
    "keyed_hash",
    "normalise_street",
    "parse_address_line",
    "parse_date",
    "parse_date_of_birth",
    "split_full_name",
    "stored_match_keys",
    "typo_keys",
]
