"""Column programs of the six built-in sources: each does to a block what its row adapter in
``caseline.sources`` does to one row, a column at a time (tests hold the two to the same
records, issues and quarantine)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from functools import partial
from typing import Any

from caseline.ingest.programs.records import ColumnRecords, joined_present
from caseline.sources.entry_exit import EVENT_TYPES, PASSPORT_DATE
from caseline.sources.tax import _YEAR
from caseline.standardise import (
    clean_a_number,
    clean_name,
    clean_passport,
    clean_tin,
    normalise_street,
    parse_date,
    parse_date_of_birth,
    split_full_name,
)
from caseline.standardise.codes import (
    clean_identifier,
    clean_sex,
    clean_us_postcode,
    clean_us_state,
)
from caseline.standardise.columns import spread
from caseline.standardise.dates import US
from caseline.standardise.values import blank_to_none

ABSENT: Any = object()  # a key a row's object leaves out


def json_objects(
    entries: Sequence[tuple[str, Sequence[Any]]], *, only_present: bool = False
) -> list[str]:
    """Each row's ``json.dumps({key: value, ...})``, every distinct value encoded once. A
    key whose value is ``ABSENT`` is left out, and with ``only_present`` so is a key whose
    value is empty (as ``if value`` does)."""
    encoded = []
    every_key_everywhere = not only_present
    for key, values in entries:
        distinct = set(values)
        every_key_everywhere = every_key_everywhere and ABSENT not in distinct
        texts = {v: json.dumps(v) for v in distinct if v is not ABSENT}
        encoded.append((json.dumps(key) + ": ", texts, values))
    size = len(entries[0][1]) if entries else 0
    if every_key_everywhere:  # a column per key, then each row's object from them
        parts = [[prefix + texts[value] for value in values] for prefix, texts, values in encoded]
        return ["{" + ", ".join(row) + "}" for row in zip(*parts, strict=True)]
    return [
        "{"
        + ", ".join(
            [
                prefix + texts[value]
                for prefix, texts, values in encoded
                if (value := values[i]) is not ABSENT and (value or not only_present)
            ]
        )
        + "}"
        for i in range(size)
    ]


def _split_street(records: ColumnRecords, column: str) -> None:
    parts = spread(records.text(column), normalise_street)
    records.set(
        street_number=[p[0] for p in parts],
        street=[p[1] for p in parts],
        unit=[p[2] for p in parts],
    )


def motor_vehicle(records: ColumnRecords) -> None:
    _split_street(records, "street_address")
    records.set(observed_on=records.value("issued_on", parse_date))
    first, last = records.text("first_name"), records.text("last_name")
    records.set(
        full_name_raw=[text or None for text in joined_present(first, last)],
        given_name=records.value("first_name", clean_name),
        middle_name=records.value("middle_name", clean_name),
        family_name=records.value("last_name", clean_name),
        suffix=records.value("suffix", clean_name),
        date_of_birth=records.value("dob", parse_date_of_birth),
        sex=records.value("sex", clean_sex),
        licence_number=records.value("licence_number", clean_identifier),
        address_raw=records.blank("street_address"),
        city=records.value("city", clean_name),
        state=records.value("state", clean_us_state),
        postcode=records.value("zip", clean_us_postcode),
    )
    keys = ("vehicle_plate", "vehicle_make", "vehicle_year", "expires_on")
    records.extra = json_objects([(k, records.blank(k)) for k in keys], only_present=True)


def tax(records: ColumnRecords) -> None:
    names = records.value("taxpayer_name", split_full_name)
    address = records.address("address")
    tins = records.value("tin", clean_tin)
    years = records.blank("tax_year")
    bad_years = [i for i, year in enumerate(years) if year is not None and not _YEAR.match(year)]
    records.refuse(bad_years, "tax_year", lambda i: f"{years[i]!r} is not a four-digit year")
    observed = {
        year: dt.date(int(year), 12, 31) for year in set(years) if year and _YEAR.match(year)
    }
    records.set(observed_on=[observed.get(year) if year else None for year in years])
    records.set(full_name_raw=records.blank("taxpayer_name"))
    records.set_name(names)
    records.set(
        date_of_birth=records.value("date_of_birth", partial(parse_date_of_birth, fmt=US), "US"),
        ssn=[t[1] if t and t[0] == "ssn" else None for t in tins],
        itin=[t[1] if t and t[0] == "itin" else None for t in tins],
        address_raw=records.blank("address"),
    )
    records.set(**address)
    records.extra = json_objects([("employer", records.blank("employer")), ("tax_year", years)])


def utility(records: ColumnRecords) -> None:
    names = records.value("customer_name", split_full_name)
    _split_street(records, "service_address")
    starts = records.value("service_start", parse_date)
    ends = records.value("service_end", parse_date)
    backwards = [i for i, (s, e) in enumerate(zip(starts, ends, strict=True)) if s and e and e < s]
    records.refuse(
        backwards,
        "service_end",
        lambda i: f"service ends ({ends[i]}) before it starts ({starts[i]})",
    )
    records.set(
        observed_on=[end or start for start, end in zip(starts, ends, strict=True)],
        valid_from=starts,
        valid_to=ends,
        full_name_raw=records.blank("customer_name"),
    )
    records.set_name(names)
    records.set(
        address_raw=records.blank("service_address"),
        city=records.value("service_city", clean_name),
        state=records.value("service_state", clean_us_state),
        postcode=records.value("service_zip", clean_us_postcode),
    )


def entry_exit(records: ColumnRecords) -> None:
    types = spread(records.text("event_type"), lambda v: (blank_to_none(v) or "").upper())
    wrong = [i for i, kind in enumerate(types) if kind not in EVENT_TYPES]
    records.refuse(wrong, "event_type", lambda i: f"{types[i]!r} is not ENTRY or EXIT")
    given_names = [(g or "").split() for g in records.value("given_names", clean_name)]
    records.set(
        observed_on=records.value("event_date", parse_date),
        full_name_raw=joined_present(records.text("given_names"), records.text("surname")),
        given_name=[g[0] if g else None for g in given_names],
        middle_name=[" ".join(g[1:]) or None for g in given_names],
        family_name=records.value("surname", clean_name),
        date_of_birth=records.value(
            "date_of_birth", partial(parse_date_of_birth, fmt=PASSPORT_DATE), "passport"
        ),
        sex=records.value("sex", clean_sex),
        passport_number=records.value("passport_number", clean_passport),
        citizenship=spread(
            records.text("citizenship"), lambda v: (blank_to_none(v) or "").upper() or None
        ),
    )
    records.extra = json_objects([("event_type", types), ("port", records.blank("port"))])


def immigration_status(records: ColumnRecords) -> None:
    types, benefits = records.blank("event_type"), records.blank("benefit")
    empty = [i for i, pair in enumerate(zip(types, benefits, strict=True)) if None in pair]
    records.refuse([i for i in empty if types[i] is None], "event_type", lambda _: "is empty")
    records.refuse(empty, "benefit", lambda _: "is empty")
    address = records.address("mailing_address")
    records.set(
        observed_on=records.value("event_date", parse_date),
        full_name_raw=joined_present(records.text("given_name"), records.text("family_name")),
        given_name=records.value("given_name", clean_name),
        middle_name=records.value("middle_name", clean_name),
        family_name=records.value("family_name", clean_name),
        date_of_birth=records.value("date_of_birth", partial(parse_date_of_birth, fmt=US), "US"),
        a_number=records.value("a_number", clean_a_number),
        country_of_birth=records.blank("country_of_birth"),
        address_raw=records.blank("mailing_address"),
    )
    records.set(**address)
    upper = partial(spread, normalise=lambda v: v.upper() if v else v)
    records.extra = json_objects([("event_type", upper(types)), ("benefit", upper(benefits))])


def court(records: ColumnRecords) -> None:
    names = records.value("respondent_name", split_full_name)
    address = records.address("address")
    outcomes = records.blank("outcome")
    records.refuse(
        [i for i, o in enumerate(outcomes) if o is None], "outcome", lambda _: "is empty"
    )
    deadlines = records.value("departure_deadline", parse_date)
    records.set(
        observed_on=records.value("hearing_date", parse_date),
        full_name_raw=records.blank("respondent_name"),
    )
    records.set_name(names)
    records.set(
        date_of_birth=records.value("date_of_birth", parse_date_of_birth),
        a_number=records.value("a_number", clean_a_number),
        address_raw=records.blank("address"),
    )
    records.set(**address)
    records.extra = json_objects([
        ("case_number", records.blank("case_number")),
        ("hearing_type", records.blank("hearing_type")),
        ("outcome", spread(outcomes, lambda v: v.upper() if v else v)),
        ("departure_deadline", spread(deadlines, lambda d: d.isoformat() if d else None)),
    ])  # fmt: skip


BUILT_IN_PROGRAMS = {
    "motor_vehicle": motor_vehicle,
    "tax": tax,
    "utility": utility,
    "entry_exit": entry_exit,
    "immigration_status": immigration_status,
    "court": court,
}
