"""The canonical record every source becomes, and the adapter contract sources implement."""

from __future__ import annotations

import datetime as dt
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from caseline.standardise import InvalidValue

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CanonicalRecord:
    """One source record, standardised. Identifiers are raw here; ingest hashes them."""

    source: str
    source_key: str
    observed_on: dt.date | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    full_name_raw: str | None = None
    given_name: str | None = None
    middle_name: str | None = None
    family_name: str | None = None
    date_of_birth: dt.date | None = None
    sex: str | None = None
    suffix: str | None = None
    ssn: str | None = None
    itin: str | None = None
    a_number: str | None = None
    passport_number: str | None = None
    licence_number: str | None = None
    other_id: str | None = None  # an identifier of no known format (a mapped source's)
    citizenship: str | None = None
    country_of_birth: str | None = None
    address_raw: str | None = None
    street_number: str | None = None
    street: str | None = None
    unit: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    issues: tuple[ValueIssue, ...] = ()


@dataclass(frozen=True, slots=True)
class ValueIssue:
    """A value that could not be used: the record loads without it, and the reason is kept."""

    field: str
    reason: str
    value: str


class Row(Mapping[str, str]):
    """One row of a source file. ``value`` parses a column; a value that does not parse is
    left out of the record and noted as an issue, so one bad date never loses a record."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values
        self.issues: list[ValueIssue] = []

    def __getitem__(self, column: str) -> str:
        return self._values[column]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def value(self, column: str, parse: Callable[[str | None], T]) -> T | None:
        raw = self._values.get(column)
        try:
            return parse(raw)
        except InvalidValue as exc:
            self.issues.append(ValueIssue(column, str(exc), raw or ""))
            return None


def record_id_for(source: str, source_key: str) -> str:
    """Stable id of a source record: the same source and key always give the same id."""
    return hashlib.sha256(f"{source}\x1f{source_key}".encode()).hexdigest()[:32]


class FieldError(ValueError):
    """A row whose field cannot be used; ingest quarantines the row with this reason."""

    def __init__(self, field_name: str, reason: str) -> None:
        self.field_name = field_name
        self.reason = reason
        super().__init__(f"{field_name}: {reason}")


class SourceAdapter(ABC):
    """Turns one row of a source file into a canonical record.

    A value that does not parse is dropped with an issue (``Row.value``); a row that cannot
    be a record at all raises FieldError and goes to quarantine.
    """

    name: str
    key_column: str
    columns: tuple[str, ...]

    def source_key(self, row: Mapping[str, str]) -> str:
        return (row.get(self.key_column) or "").strip()

    @abstractmethod
    def to_record(self, row: Row) -> CanonicalRecord: ...
