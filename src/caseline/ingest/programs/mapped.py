"""The column program of a mapped source: ``MappedSource.to_record`` a column at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from caseline.ingest.programs.builtin import ABSENT, json_objects
from caseline.ingest.programs.records import Column, ColumnRecords, joined_present
from caseline.sources.mapped import FIELD_TYPES, MappedSource
from caseline.standardise import normalise_street
from caseline.standardise.address_columns import PARTS
from caseline.standardise.columns import spread
from caseline.standardise.registry import normaliser
from caseline.standardise.status import StatusTerm


def _or(parsed: Column, default: Sequence[Any]) -> Column:
    """``parsed.get(field, default)``: the parsed value where there is one."""
    return [p if p is not None else d for p, d in zip(parsed, default, strict=True)]


def mapped_program(adapter: MappedSource) -> Any:
    """The program of ``adapter``'s mapping."""
    mapping = adapter.mapping

    def program(records: ColumnRecords) -> None:
        none = [None] * records.size
        parsed: dict[str, Column] = {}
        address: dict[str, Column] = dict.fromkeys(PARTS, none)
        for field_name, spec in mapping.fields.items():
            if field_name == "address":
                address = records.address(spec.column, whole_line_fallback=True)
                continue
            kind = (FIELD_TYPES[field_name], spec.format)
            parse = normaliser(*kind)
            parsed[field_name] = records.value(spec.column, parse, kind)
        names = parsed.pop("full_name", none)
        tins = parsed.pop("ssn", none)
        number, street, unit = address["street_number"], address["street"], address["unit"]
        if "street" in parsed:  # a row with a street: its parts from street_number + street
            streets = parsed["street"]
            lines = joined_present(parsed.get("street_number", none), streets)
            split = spread(lines, normalise_street)
            number, street, unit = (
                [
                    s[k] if st is not None else old
                    for s, st, old in zip(split, streets, before, strict=True)
                ]
                for k, before in enumerate((number, street, unit))
            )
        given = [n.given if n else None for n in names]
        middle = [n.middle if n else None for n in names]
        family = [n.family if n else None for n in names]
        field = parsed.get
        records.set(
            observed_on=field("observed_on", none),
            valid_from=field("valid_from", none),
            valid_to=field("valid_to", none),
            full_name_raw=_raw(records, "full_name", none),
            given_name=_or(field("given_name", none), given),
            middle_name=_or(field("middle_name", none), middle),
            family_name=_or(field("family_name", none), family),
            suffix=[n.suffix if n else None for n in names],
            date_of_birth=field("date_of_birth", none),
            sex=field("sex", none),
            ssn=[t[1] if t and t[0] == "ssn" else None for t in tins],
            itin=[t[1] if t and t[0] == "itin" else None for t in tins],
            a_number=field("a_number", none),
            passport_number=field("passport_number", none),
            licence_number=field("licence_number", none),
            other_id=field("other_id", none),
            citizenship=field("citizenship", none),
            address_raw=_raw(records, "address", none),
            street_number=_or(number, field("street_number", none)),
            street=street,
            unit=_or(field("unit", none), unit),
            city=_or(field("city", none), address["city"]),
            state=_or(field("state", none), address["state"]),
            postcode=_or(field("postcode", none), address["postcode"]),
        )
        records.extra = _extra(records, parsed, none)

    def _extra(records: ColumnRecords, parsed: dict[str, Column], none: Column) -> list[str]:
        """The employer when it parsed; the status term and the file's words when the words
        are not blank, and the date they state when that parsed too."""
        entries: list[tuple[str, Sequence[Any]]] = []
        if "employer" in parsed:
            entries.append(("employer", [ABSENT if e is None else e for e in parsed["employer"]]))
        spec = mapping.fields.get("status")
        if spec is None:
            return json_objects(entries) if entries else ["{}"] * records.size
        words = records.blank(spec.column)
        terms: Column = parsed.get("status", none)
        stated_on = spread(parsed.get("status_on", none), lambda d: d.isoformat() if d else None)
        entries += [
            ("status", [
                ABSENT if said is None else (term or StatusTerm.UNCLEAR).value
                for term, said in zip(terms, words, strict=True)
            ]),
            ("status_stated", [ABSENT if said is None else said for said in words]),
            ("status_on", [
                ABSENT if said is None or on is None else on
                for on, said in zip(stated_on, words, strict=True)
            ]),
        ]  # fmt: skip
        return json_objects(entries)

    def _raw(records: ColumnRecords, field_name: str, none: Column) -> Column:
        spec = mapping.fields.get(field_name)
        return none if spec is None else records.blank(spec.column)

    return program
