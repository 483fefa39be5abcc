"""What the records say about each of a person's addresses at a reference date.

Pure over a frame of records (one row per record: person, source, dates, address parts), so
a profile page, the evaluation and the model fit read one definition of the evidence.
Records dated after the reference date are not evidence yet; an account that closes after
it was still open on it.
"""

from __future__ import annotations

import datetime as dt

import jellyfish
import numpy as np
import pandas as pd

from caseline.errors import InputError
from caseline.standardise.addresses import STREET_WORDS
from caseline.standardise.dates import EARLIEST_YEAR, LATEST_YEAR

RECORD_COLUMNS = (
    "person_id", "record_id", "source", "observed_on", "valid_from", "valid_to",
    "street_number", "street", "unit", "city", "state", "postcode",
)  # fmt: skip
# Two spellings of a street at one number and ZIP code are one address (a typo, an
# abbreviation) when they are this alike.
SAME_STREET_SIMILARITY = 0.85


def address_key(
    number: str | None, street: str | None, unit: str | None, postcode: str | None
) -> str:
    """One address as compared: number, street, unit and ZIP code (the city is left out, as
    sources spell it most variously)."""
    return " ".join(filter(None, (number, street, unit, postcode)))


def gather_evidence(records: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """One row per (person, address) with the evidence for it at ``as_of``.

    Columns: person_id, address_key, address (as most records write it), variants (every key
    its records carry), sources, records, first_seen, last_seen, latest_start (when the
    newest of its records began: what "the most recent record wins" reads), open_accounts,
    closed_accounts, and the person-level newest evidence used by the model; and, of the
    person's own records (not leads), how many there are and when the first and the last
    began (``person_own_records``, ``person_first_start``, ``person_last_start``), which the
    departure rule reads.
    """
    dated = _dated(records, as_of)
    if dated.empty:
        return _empty_evidence()
    dated["address_key"] = _merged_keys(dated)
    dated["variant"] = [
        address_key(n, s, u, p)
        for n, s, u, p in zip(
            dated["street_number"], dated["street"], dated["unit"], dated["postcode"], strict=True
        )
    ]
    own = dated["lead"] == 0
    dated["own_start"] = dated["start"].where(own)
    dated["own"] = own.astype(int)
    grouped = dated.groupby(["person_id", "address_key"], sort=True)
    evidence = grouped.agg(
        first_seen=("start", "min"),
        last_seen=("last", "max"),
        latest_start=("start", "max"),
        records=("record_id", "size"),
        open_accounts=("open", "sum"),
        closed_accounts=("closed", "sum"),
        lead=("lead", "min"),  # 1: known only from leads (records in another's name)
        claimants=("claimants", "max"),
        own_records=("own", "sum"),
        own_first_start=("own_start", "min"),
        own_last_start=("own_start", "max"),
    ).reset_index()
    keys = ["person_id", "address_key"]
    evidence["sources"] = _collected(dated, keys, "source")
    evidence["variants"] = _collected(dated, keys, "variant")
    evidence["address"] = _most_written(dated, keys)
    return _with_person_context(evidence, as_of)


def _collected(frame: pd.DataFrame, keys: list[str], column: str) -> list[tuple[str, ...]]:
    """Per group of ``keys`` (in sorted order), the distinct values of ``column``, sorted."""
    distinct = frame[[*keys, column]].drop_duplicates().sort_values([*keys, column])
    codes = distinct.groupby(keys, sort=True).ngroup().to_numpy()
    values = distinct[column].to_numpy(dtype=object)
    bounds = np.flatnonzero(np.diff(codes)) + 1
    return [tuple(part) for part in np.split(values, bounds)]


def _most_written(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Per group of ``keys`` (sorted), the address as most of its records write it."""
    unit = (" APT " + frame["unit"].astype("string")).fillna("")
    street = frame["street_number"].astype("string").fillna("") + " " + frame["street"].astype(str)
    place = (
        frame["city"].astype("string").fillna("")
        + " " + frame["state"].astype("string").fillna("")
        + " " + frame["postcode"].astype("string").fillna("")
    )  # fmt: skip
    labels = frame[keys].assign(
        label=(street.str.strip() + unit + ", " + place.str.split().str.join(" ")).str.strip(", ")
    )
    counted = labels.groupby([*keys, "label"], sort=False).size().rename("n").reset_index()
    counted = counted.sort_values([*keys, "n", "label"], ascending=[True, True, False, True])
    chosen: np.ndarray = counted.drop_duplicates(keys)["label"].to_numpy(dtype=object)
    return chosen


def reference_day(as_of: dt.date) -> pd.Timestamp:
    """The day addresses are scored for; InputError (422) outside the years Caseline reads."""
    if not EARLIEST_YEAR <= as_of.year <= LATEST_YEAR:
        raise InputError(
            f"{as_of.isoformat()} is outside the years {EARLIEST_YEAR} to {LATEST_YEAR}",
            where="as_of",
        )
    return pd.Timestamp(as_of)


def _dated(records: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Records with an address that began by ``as_of``, with the dates the evidence uses."""
    has_address = records["street"].notna()
    columns = [c for c in (*RECORD_COLUMNS, "lead", "claimants") if c in records.columns]
    frame = records.loc[has_address, columns].copy()
    if "lead" not in frame.columns:
        frame = frame.assign(lead=0, claimants=0)
    day = reference_day(as_of)
    # A stored date pandas cannot hold (a placeholder such as 9999-12-31, kept from before
    # ingest refused them) counts as no date.
    observed = pd.to_datetime(frame["observed_on"], errors="coerce")
    valid_from = pd.to_datetime(frame["valid_from"], errors="coerce")
    valid_to = pd.to_datetime(frame["valid_to"], errors="coerce")
    start = valid_from.fillna(observed)
    frame = frame.assign(start=start)
    began = start.notna() & (start <= day)
    frame, valid_from, valid_to, observed = (
        frame[began],
        valid_from[began],
        valid_to[began],
        observed[began],
    )
    closed = valid_to.notna() & (valid_to <= day)
    is_interval = valid_from.notna()
    # A point record is last seen on its date; an account on its closing date, or, while it
    # is still open, on its opening date (its being open is evidence of its own).
    last = np.where(closed, valid_to, np.where(is_interval, valid_from, observed))
    return frame.assign(
        last=pd.to_datetime(last),
        closed=closed.astype(int),
        open=(is_interval & ~closed).astype(int),
    )


def _merged_keys(dated: pd.DataFrame) -> list[str]:
    """Each record's address key, with a person's variants of one address merged onto the
    one most of their records write.

    Two of a person's keys are one address when they differ in one part, by a slip a clerk
    makes: the street spelt otherwise (:func:`_same_street`), the unit or the ZIP code left
    out, one ZIP digit off, two neighbouring digits of the house number exchanged. A
    variant joins the most written key it is one slip from; two units, or two house
    numbers, that are both written and differ otherwise stay two addresses.
    """
    parts = list(
        zip(
            dated["street_number"].fillna("").astype(str),
            dated["street"].astype(str),
            dated["unit"].fillna("").astype(str),
            dated["postcode"].fillna("").astype(str),
            strict=True,
        )
    )
    keys = [address_key(*part) for part in parts]
    persons = dated["person_id"].astype(str).to_numpy()
    counts: dict[str, dict[tuple[str, str, str, str], int]] = {}
    for person, part in zip(persons, parts, strict=True):
        of_person = counts.setdefault(person, {})
        of_person[part] = of_person.get(part, 0) + 1
    canonical: dict[tuple[str, tuple[str, str, str, str]], tuple[str, str, str, str]] = {}
    for person, variants in counts.items():
        if len(variants) < 2:
            continue
        chosen: list[tuple[str, str, str, str]] = []
        for variant in sorted(variants, key=lambda v: (-variants[v], v)):
            match = next((c for c in chosen if _one_slip_apart(variant, c)), None)
            if match is None:
                chosen.append(variant)
            else:
                canonical[(person, variant)] = match
    if canonical:
        for i, (person, part) in enumerate(zip(persons, parts, strict=True)):
            merged = canonical.get((person, part))
            if merged is not None:
                keys[i] = address_key(*merged)
    return keys


def _one_slip_apart(a: tuple[str, str, str, str], b: tuple[str, str, str, str]) -> bool:
    """(number, street, unit, ZIP) ``a`` and ``b`` differ in one part, by a slip."""
    differing = [i for i in range(4) if a[i] != b[i]]
    if len(differing) != 1:
        return False
    part = differing[0]
    x, y = a[part], b[part]
    if part == 0:
        return _digits_exchanged(x, y)
    if part == 1:
        return _same_street(x, y)
    if part == 2:
        return not x or not y  # a unit left out; two written units are two flats
    if not x or not y:
        return True  # the ZIP code left out
    return len(x) == len(y) and sum(p != q for p, q in zip(x, y, strict=True)) == 1


def _digits_exchanged(x: str, y: str) -> bool:
    """'4373' and '4337': the same digits with two neighbours exchanged."""
    if len(x) != len(y) or len(x) < 2:
        return False
    at = [i for i in range(len(x)) if x[i] != y[i]]
    return len(at) == 2 and at[1] == at[0] + 1 and x[at[0]] == y[at[1]] and x[at[1]] == y[at[0]]


_DIRECTIONS = frozenset({"N", "S", "E", "W", "NE", "NW", "SE", "SW"})
_STREET_TYPES = frozenset(STREET_WORDS.values()) - _DIRECTIONS


def _same_street(a: str, b: str) -> bool:
    """Two spellings of one street: alike, with the same street type and direction (OAK ST
    and OAK CT, or W MAIN ST and E MAIN ST, are alike but two streets; LANDING and LANDNG,
    a letter apart and not two types, are one)."""
    first, second = a.split(), b.split()
    if not first or not second:
        return False
    if first[-1] != second[-1] and (
        {first[-1], second[-1]} <= _STREET_TYPES
        or jellyfish.damerau_levenshtein_distance(first[-1], second[-1]) > 1
    ):
        return False
    if (first[0] in _DIRECTIONS or second[0] in _DIRECTIONS) and first[0] != second[0]:
        return False
    return jellyfish.jaro_winkler_similarity(a, b) >= SAME_STREET_SIMILARITY


def _with_person_context(evidence: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Add what the person's other addresses say: the newest evidence, newer addresses."""
    day = reference_day(as_of)
    by_person = evidence.groupby("person_id")
    evidence["person_last_seen"] = by_person["last_seen"].transform("max")
    evidence["person_addresses"] = by_person["address_key"].transform("size")
    evidence["person_open_accounts"] = by_person["open_accounts"].transform("sum")
    evidence["latest_arrival"] = evidence["first_seen"] == by_person["first_seen"].transform("max")
    # The newest first sighting among the person's *other* addresses: top two per person.
    order = evidence.sort_values(["person_id", "first_seen"], ascending=[True, False])
    top = order.groupby("person_id")["first_seen"].nth(0)
    second = order.groupby("person_id")["first_seen"].nth(1)
    newest = pd.Series(top.to_numpy(), index=order.loc[top.index, "person_id"].to_numpy())
    runner_up = pd.Series(second.to_numpy(), index=order.loc[second.index, "person_id"].to_numpy())
    person_newest = evidence["person_id"].map(newest)
    person_runner_up = evidence["person_id"].map(runner_up)
    is_newest = evidence["first_seen"] == person_newest
    other_newest = person_runner_up.where(is_newest, person_newest)
    newer_elsewhere = (other_newest - evidence["last_seen"]).dt.days.clip(lower=0)
    evidence["newer_elsewhere_days"] = newer_elsewhere.fillna(0).astype(int)
    evidence["age_days"] = (day - evidence["last_seen"]).dt.days.clip(lower=0)
    evidence["arrival_age_days"] = (day - evidence["first_seen"]).dt.days.clip(lower=0)
    evidence["person_age_days"] = (day - evidence["person_last_seen"]).dt.days.clip(lower=0)
    evidence["source_count"] = evidence["sources"].map(len)
    evidence["person_own_records"] = by_person["own_records"].transform("sum")
    evidence["person_first_start"] = by_person["own_first_start"].transform("min")
    evidence["person_last_start"] = by_person["own_last_start"].transform("max")
    return evidence.drop(columns=["own_records", "own_first_start", "own_last_start"])


def _empty_evidence() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "person_id", "address_key", "first_seen", "last_seen", "latest_start", "records",
            "open_accounts",
            "closed_accounts", "sources", "variants", "address", "person_last_seen",
            "person_addresses", "person_open_accounts", "newer_elsewhere_days", "age_days",
            "person_age_days", "source_count", "lead", "claimants", "latest_arrival",
            "arrival_age_days", "person_own_records", "person_first_start", "person_last_start",
        ]
    )  # fmt: skip
