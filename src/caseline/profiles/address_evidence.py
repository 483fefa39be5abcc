"""What the records say about each of a person's addresses at a reference date.

Pure over a frame of records (one row per record: person, source, dates, address parts), so
a profile page, the evaluation and the model fit read one definition of the evidence.
Records dated after the reference date are not evidence yet; an account that closes after
it was still open on it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Any

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
    """One row per (person, address) with the evidence for it at ``as_of``, sorted by person
    and address key.

    Columns: person_id, address_key, address (as most records write it), variants (every key
    its records carry), sources, records, first_seen, last_seen, latest_start (when the
    newest of its records began: what "the most recent record wins" reads), open_accounts,
    closed_accounts, and the person-level newest evidence used by the model; and, of the
    person's own records (not leads), how many there are and when the first and the last
    began (``person_own_records``, ``person_first_start``, ``person_last_start``), which the
    departure rule reads.

    Computed over arrays sorted once, with no grouping of frames, so that one person's few
    records cost little more than their number: a profile scores one person with the very
    code that scores the population.
    """
    dated = _dated(records, as_of)
    if dated is None:
        return _empty_evidence()
    merged = np.asarray(_merged_keys(dated), dtype=object)
    person_codes, _ = pd.factorize(dated.person_id, sort=True)
    key_codes, _ = pd.factorize(merged, sort=True)
    order = np.lexsort((key_codes, person_codes))
    group = person_codes[order].astype(np.int64) * (int(key_codes.max()) + 1) + key_codes[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    bounds = [*starts.tolist(), len(order)]
    start, last = dated.start[order], dated.last[order]
    own = dated.lead[order] == 0
    evidence = {
        "person_id": dated.person_id[order][starts],
        "address_key": merged[order][starts],
        "first_seen": np.minimum.reduceat(start, starts),
        "last_seen": np.maximum.reduceat(last, starts),
        "latest_start": np.maximum.reduceat(start, starts),
        "records": np.diff(bounds).astype(np.int64),
        "open_accounts": np.add.reduceat(dated.open[order], starts),
        "closed_accounts": np.add.reduceat(dated.closed[order], starts),
        "lead": np.minimum.reduceat(dated.lead[order], starts),  # 1: known only from leads
        "claimants": np.maximum.reduceat(dated.claimants[order], starts),
        "sources": _distinct(dated.source[order], bounds),
        "variants": _distinct(_variants(dated)[order], bounds),
        "address": _most_written(_labels(dated)[order], bounds),
    }
    own_records = np.add.reduceat(own.astype(np.int64), starts)
    own_first = _min_dated(np.where(own, start, _NEVER), starts)
    own_last = np.maximum.reduceat(np.where(own, start, _NAT), starts)
    return _with_person_context(evidence, own_records, own_first, own_last, as_of)


_NAT = np.iinfo(np.int64).min  # NaT as nanoseconds
_NEVER = np.iinfo(np.int64).max  # a start no record has: what a minimum ignores
_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True, slots=True)
class _Dated:
    """The records with an address that began by the reference day, as arrays; dates are
    nanoseconds (NaT as :data:`_NAT`)."""

    person_id: np.ndarray
    source: np.ndarray
    street_number: list[str]
    street: list[str]
    unit: list[str]
    unit_given: list[bool]  # the unit is written ('' too), not missing
    postcode: list[str]
    city: list[str]
    state: list[str]
    start: np.ndarray  # when the record began: valid from, else observed
    last: np.ndarray  # when it was last seen at the address
    open: np.ndarray  # 1: an account still open on the reference day
    closed: np.ndarray  # 1: an account closed by the reference day
    lead: np.ndarray
    claimants: np.ndarray


def _text(values: pd.Series) -> list[str]:
    """Each value as text, a missing one as ''."""
    return [v if isinstance(v, str) else "" if pd.isna(v) else str(v) for v in values.tolist()]


def _distinct(values: np.ndarray, bounds: list[int]) -> list[tuple[str, ...]]:
    """Per run of ``values`` between ``bounds``, its distinct values, sorted."""
    return [tuple(sorted(set(values[a:b]))) for a, b in itertools.pairwise(bounds)]


def _variants(dated: _Dated) -> np.ndarray:
    """Each record's own address key, before variants are merged."""
    parts = zip(dated.street_number, dated.street, dated.unit, dated.postcode, strict=True)
    return np.asarray([address_key(*p) for p in parts], dtype=object)


def _labels(dated: _Dated) -> np.ndarray:
    """Each record's address as written: number and street, unit, and city, state, ZIP."""
    labels = []
    for number, street, unit, given, city, state, postcode in zip(
        dated.street_number, dated.street, dated.unit, dated.unit_given, dated.city,
        dated.state, dated.postcode, strict=True,
    ):  # fmt: skip
        place = " ".join(f"{city} {state} {postcode}".split())
        flat = f" APT {unit}" if given else ""
        labels.append(f"{f'{number} {street}'.strip()}{flat}, {place}".strip(", "))
    return np.asarray(labels, dtype=object)


def _most_written(labels: np.ndarray, bounds: list[int]) -> list[str]:
    """Per run of ``labels`` between ``bounds``, the one most written (of equals, the first
    in alphabetical order)."""
    chosen = []
    for a, b in itertools.pairwise(bounds):
        counts = Counter(labels[a:b])
        chosen.append(min(counts, key=lambda label: (-counts[label], label)))
    return chosen


def _min_dated(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per run from ``starts``, the earliest of ``values`` (:data:`_NEVER` for none), NaT
    where there is none."""
    least = np.minimum.reduceat(values, starts)
    return np.where(least == _NEVER, _NAT, least)


def reference_day(as_of: dt.date) -> pd.Timestamp:
    """The day addresses are scored for; InputError (422) outside the years Caseline reads."""
    if not EARLIEST_YEAR <= as_of.year <= LATEST_YEAR:
        raise InputError(
            f"{as_of.isoformat()} is outside the years {EARLIEST_YEAR} to {LATEST_YEAR}",
            where="as_of",
        )
    return pd.Timestamp(as_of)


def _dated(records: pd.DataFrame, as_of: dt.date) -> _Dated | None:
    """Records with an address that began by ``as_of``, with the dates the evidence uses;
    None if there are none."""
    day = reference_day(as_of).as_unit("ns").value
    frame = records[records["street"].notna()]
    if frame.empty:
        return None
    # A stored date pandas cannot hold (a placeholder such as 9999-12-31, kept from before
    # ingest refused them) counts as no date.
    observed, valid_from, valid_to = (
        pd.to_datetime(frame[column], errors="coerce").to_numpy("datetime64[ns]").view("i8")
        for column in ("observed_on", "valid_from", "valid_to")
    )
    start = np.where(valid_from != _NAT, valid_from, observed)
    began = (start != _NAT) & (start <= day)
    if not began.any():
        return None
    frame = frame[began]
    start, observed, valid_from, valid_to = (
        start[began],
        observed[began],
        valid_from[began],
        valid_to[began],
    )
    closed = (valid_to != _NAT) & (valid_to <= day)
    is_interval = valid_from != _NAT
    # A point record is last seen on its date; an account on its closing date, or, while it
    # is still open, on its opening date (its being open is evidence of its own).
    last = np.where(closed, valid_to, np.where(is_interval, valid_from, observed))
    leads = "lead" in frame.columns
    zeros = np.zeros(len(frame), dtype=np.int64)
    return _Dated(
        person_id=frame["person_id"].to_numpy(dtype=object),
        source=frame["source"].to_numpy(dtype=object),
        street_number=_text(frame["street_number"]),
        street=_text(frame["street"]),
        unit=_text(frame["unit"]),
        unit_given=frame["unit"].notna().tolist(),
        postcode=_text(frame["postcode"]),
        city=_text(frame["city"]),
        state=_text(frame["state"]),
        start=start,
        last=last,
        open=(is_interval & ~closed).astype(np.int64),
        closed=closed.astype(np.int64),
        lead=frame["lead"].to_numpy(dtype=np.int64) if leads else zeros,
        claimants=frame["claimants"].to_numpy(dtype=np.int64) if leads else zeros,
    )


def _merged_keys(dated: _Dated) -> list[str]:
    """Each record's address key, with a person's variants of one address merged onto the
    one most of their records write.

    Two of a person's keys are one address when they differ in one part, by a slip a clerk
    makes: the street spelt otherwise (:func:`_same_street`), the unit or the ZIP code left
    out, one ZIP digit off, two neighbouring digits of the house number exchanged. A
    variant joins the most written key it is one slip from; two units, or two house
    numbers, that are both written and differ otherwise stay two addresses.
    """
    parts = list(zip(dated.street_number, dated.street, dated.unit, dated.postcode, strict=True))
    keys = [address_key(*part) for part in parts]
    persons = dated.person_id
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


def _with_person_context(
    evidence: dict[str, Any],
    own_records: np.ndarray,
    own_first: np.ndarray,
    own_last: np.ndarray,
    as_of: dt.date,
) -> pd.DataFrame:
    """Add what the person's other addresses say: the newest evidence, newer addresses.

    ``evidence`` holds one entry per (person, address), sorted by person; the ``own_``
    arrays are, per address, the person's own records at it and when they began."""
    day = reference_day(as_of).as_unit("ns").value
    persons = evidence["person_id"]
    starts = np.flatnonzero(np.r_[True, persons[1:] != persons[:-1]])
    sizes = np.diff([*starts.tolist(), len(persons)])

    def per_person(values: np.ndarray) -> np.ndarray:
        return np.repeat(values, sizes)

    first_seen, last_seen = evidence["first_seen"], evidence["last_seen"]
    person_last_seen = per_person(np.maximum.reduceat(last_seen, starts))
    newest = per_person(np.maximum.reduceat(first_seen, starts))
    is_newest = first_seen == newest
    # The newest first sighting among the person's *other* addresses: the newest again if
    # two share it, else the newest of the rest (none for a person of one address).
    ties = per_person(np.add.reduceat(is_newest.astype(np.int64), starts)) > 1
    rest = per_person(np.maximum.reduceat(np.where(is_newest, _NAT, first_seen), starts))
    other_newest = np.where(is_newest, np.where(ties, newest, rest), newest)
    newer_elsewhere = np.where(
        other_newest == _NAT, 0, np.maximum((other_newest - last_seen) // _DAY_NS, 0)
    )
    return pd.DataFrame(
        {
            **{k: _as_dates(v) if k in _DATES else v for k, v in evidence.items()},
            "person_last_seen": _as_dates(person_last_seen),
            "person_addresses": per_person(sizes.astype(np.int64)),
            "person_open_accounts": per_person(np.add.reduceat(evidence["open_accounts"], starts)),
            "latest_arrival": is_newest,
            "newer_elsewhere_days": newer_elsewhere.astype(np.int64),
            "age_days": np.maximum((day - last_seen) // _DAY_NS, 0),
            "arrival_age_days": np.maximum((day - first_seen) // _DAY_NS, 0),
            "person_age_days": np.maximum((day - person_last_seen) // _DAY_NS, 0),
            "source_count": np.fromiter(map(len, evidence["sources"]), np.int64, len(persons)),
            "person_own_records": per_person(np.add.reduceat(own_records, starts)),
            "person_first_start": _as_dates(per_person(_min_dated(
                np.where(own_first == _NAT, _NEVER, own_first), starts))),
            "person_last_start": _as_dates(per_person(np.maximum.reduceat(own_last, starts))),
        }
    )  # fmt: skip


_DATES = ("first_seen", "last_seen", "latest_start")


def _as_dates(nanoseconds: np.ndarray) -> np.ndarray:
    return nanoseconds.view("datetime64[ns]")


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
