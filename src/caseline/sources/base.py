"""The canonical record every source becomes, and the adapter contract sources implement."""

from __future__ import annotations

import datetime as dt
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
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
    full_name_raw: str | None = None
    given_name: str | None = None
    middle_name: str | None = None
    family_name: str | None = None
    date_of_birth: dt.date | None = None
    sex: str | None = None
    ssn: str | None = None
    licence_number: str | None = None
    address_raw: str | None = None
    street_number: str | None = None
    street: str | None = None
    unit: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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
    """Turns one row of a source file into a canonical record, or raises FieldError."""

    name: str
    key_column: str
    columns: tuple[str, ...]

    @abstractmethod
    def to_record(self, row: Mapping[str, str]) -> CanonicalRecord: ...


def field_value(row: Mapping[str, str], column: str, parse: Callable[[str | None], T]) -> T:
    """Apply ``parse`` to one column, naming the column if the value is invalid."""
    try:
        return parse(row.get(column))
    except InvalidValue as exc:
        raise FieldError(column, str(exc)) from None
