"""A source described by a mapping file: any person file whose columns a YAML file names.

    source: febrl3                 # the source name records get
    key: rec_id                    # the column that is the source key (or a list of columns)
    fields:                        # canonical field: column, or {column, format}
      given_name: given_name
      family_name: surname
      date_of_birth: {column: date_of_birth, format: "%Y%m%d"}
      other_id: soc_sec_id

The canonical fields and what each is standardised with are listed in ``FIELD_TYPES``;
docs/mapping.md documents the format with examples.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from caseline.errors import MappingError
from caseline.sources.base import CanonicalRecord, Row, SourceAdapter
from caseline.standardise import NO_ADDRESS, NO_NAME, Address, ParsedName, normalise_street
from caseline.standardise.registry import VALUE_TYPES, normaliser
from caseline.standardise.status import StatusTerm
from caseline.standardise.values import blank_to_none

# Canonical field -> its value type in the registry (which decides how it is standardised).
FIELD_TYPES = {
    "given_name": "name", "middle_name": "name", "family_name": "name", "full_name": "full_name",
    "date_of_birth": "birth_date", "sex": "sex", "ssn": "tin", "a_number": "a_number",
    "passport_number": "passport", "licence_number": "identifier", "other_id": "identifier",
    "address": "address", "street_number": "text", "street": "street", "unit": "text",
    "city": "name", "state": "text", "postcode": "text", "observed_on": "date",
    "valid_from": "date", "valid_to": "date", "citizenship": "text", "employer": "text",
    "status": "status", "status_on": "date",
}  # fmt: skip
_SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    column: str
    format: str | None = None


@dataclass(frozen=True, slots=True)
class SourceMapping:
    source: str
    key: tuple[str, ...]
    fields: dict[str, FieldSpec]

    @property
    def columns(self) -> tuple[str, ...]:
        referenced = [*self.key, *(spec.column for spec in self.fields.values())]
        return tuple(dict.fromkeys(referenced))


def load_mapping(path: Path) -> SourceMapping:
    """Read and check a mapping file; MappingError names the file and the entry at fault."""
    if not path.is_file():
        raise MappingError("no such mapping file", where=str(path))
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MappingError(f"not valid YAML ({exc})", where=str(path)) from None
    return parse_mapping(document, where=str(path))


def parse_mapping(document: Any, *, where: str) -> SourceMapping:
    if not isinstance(document, dict):
        raise MappingError("a mapping is a YAML object with source, key and fields", where=where)
    unknown = set(document) - {"source", "key", "fields"}
    if unknown:
        raise MappingError(f"unknown entries: {', '.join(sorted(map(str, unknown)))}", where=where)
    source = document.get("source")
    if not isinstance(source, str) or _SOURCE_NAME.match(source) is None:
        raise MappingError(
            "source must be a lower-case name (letters, digits, _)", where=f"{where}: source"
        )
    key = document.get("key")
    keys = [key] if isinstance(key, str) else key
    if not isinstance(keys, list) or not keys or not all(map(_is_column_name, keys)):
        raise MappingError("key must be a column name or a list of them", where=f"{where}: key")
    fields = document.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise MappingError("fields must map canonical fields to columns", where=f"{where}: fields")
    specs = {
        name: _field_spec(name, spec, f"{where}: fields.{name}") for name, spec in fields.items()
    }
    return SourceMapping(source, tuple(keys), specs)


def _field_spec(name: Any, spec: Any, where: str) -> FieldSpec:
    if name not in FIELD_TYPES:
        known = ", ".join(sorted(FIELD_TYPES))
        raise MappingError(f"unknown canonical field {name!r}; known fields: {known}", where=where)
    if _is_column_name(spec):
        return FieldSpec(spec)
    if not isinstance(spec, dict) or not _is_column_name(spec.get("column")):
        raise MappingError("give a column name, or {column: ..., format: ...}", where=where)
    extra = set(spec) - {"column", "format"}
    if extra:
        raise MappingError(f"unknown settings: {', '.join(sorted(map(str, extra)))}", where=where)
    fmt = spec.get("format")
    value_type = VALUE_TYPES[FIELD_TYPES[name]]
    if fmt is not None:
        if not isinstance(fmt, str):
            raise MappingError(f"format {fmt!r} is not text", where=where)
        if not value_type.takes_format:
            raise MappingError("format applies to date fields and full_name only", where=where)
        if value_type.formats is not None and fmt not in value_type.formats:
            allowed = " or ".join(sorted(value_type.formats))
            raise MappingError(f"format {fmt!r} is not {allowed}", where=where)
        if value_type.formats is None and not _is_date_format(fmt):
            raise MappingError(
                f"format {fmt!r} is not a strptime format that reads a whole date, such as "
                "%Y-%m-%d",
                where=where,
            )
    return FieldSpec(spec["column"], fmt)


def _is_column_name(name: object) -> bool:
    """A column is named by text that is not blank (a file's header is read stripped)."""
    return isinstance(name, str) and bool(name.strip())


def _is_date_format(fmt: object) -> bool:
    """A strptime format that can write and read back a date (so '%Q' or '%Y-%' fail here,
    when the mapping loads, not on every row)."""
    if not isinstance(fmt, str) or "%" not in fmt:
        return False
    sample = dt.date(1987, 11, 23)
    try:
        return dt.datetime.strptime(sample.strftime(fmt), fmt).date() == sample
    except ValueError:
        return False


class MappedSource(SourceAdapter):
    """An adapter built from a mapping instead of code."""

    def __init__(self, mapping: SourceMapping) -> None:
        self.mapping = mapping
        self.name = mapping.source
        self.key_column = mapping.key[0]
        self.columns = mapping.columns

    def source_key(self, row: Mapping[str, str]) -> str:
        parts = [(row.get(column) or "").strip() for column in self.mapping.key]
        return "|".join(parts) if all(parts) else ""

    def to_record(self, row: Row) -> CanonicalRecord:
        parsed: dict[str, Any] = {}
        for field_name, spec in self.mapping.fields.items():
            value = row.value(spec.column, normaliser(FIELD_TYPES[field_name], spec.format))
            if value is not None:
                parsed[field_name] = value
        name: ParsedName = parsed.pop("full_name", NO_NAME)
        address: Address = parsed.pop("address", NO_ADDRESS)
        tin: tuple[str, str] | None = parsed.pop("ssn", None)
        extra: dict[str, Any] = {"employer": parsed.pop("employer")} if "employer" in parsed else {}
        extra |= self._status(row, parsed.pop("status", None), parsed.pop("status_on", None))
        number, street, unit = address.street_number, address.street, address.unit
        if "street" in parsed:
            line = " ".join(filter(None, (parsed.get("street_number"), parsed["street"])))
            number, street, unit = normalise_street(line)
        return CanonicalRecord(
            source=self.name,
            source_key=self.source_key(row),
            observed_on=parsed.get("observed_on"),
            valid_from=parsed.get("valid_from"),
            valid_to=parsed.get("valid_to"),
            full_name_raw=self._raw(row, "full_name"),
            given_name=parsed.get("given_name", name.given),
            middle_name=parsed.get("middle_name", name.middle),
            family_name=parsed.get("family_name", name.family),
            suffix=name.suffix,
            date_of_birth=parsed.get("date_of_birth"),
            sex=parsed.get("sex"),
            ssn=tin[1] if tin and tin[0] == "ssn" else None,
            itin=tin[1] if tin and tin[0] == "itin" else None,
            a_number=parsed.get("a_number"),
            passport_number=parsed.get("passport_number"),
            licence_number=parsed.get("licence_number"),
            other_id=parsed.get("other_id"),
            citizenship=parsed.get("citizenship"),
            address_raw=self._raw(row, "address"),
            street_number=parsed.get("street_number", number) if number is None else number,
            street=street,
            unit=parsed.get("unit", unit),
            city=parsed.get("city", address.city),
            state=parsed.get("state", address.state),
            postcode=parsed.get("postcode", address.postcode),
            extra=extra,
        )

    def _status(
        self, row: Row, term: StatusTerm | None, stated_on: dt.date | None
    ) -> dict[str, Any]:
        """What the file says of the person's status: the term, the file's own words and the
        date it states. Words outside the vocabulary are a value issue (``Row.value`` kept
        it) and a status of unclear meaning, which stops a case as any status record may."""
        spec = self.mapping.fields.get("status")
        words = blank_to_none(row.get(spec.column)) if spec else None
        if words is None:
            return {}
        status = {
            "status": (term or StatusTerm.UNCLEAR).value,
            "status_stated": words,
        }
        if stated_on is not None:
            status["status_on"] = stated_on.isoformat()
        return status

    def _raw(self, row: Row, field_name: str) -> str | None:
        spec = self.mapping.fields.get(field_name)
        return blank_to_none(row.get(spec.column)) if spec else None
