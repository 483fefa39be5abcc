"""A person's addresses with the probability that each is the current residence, and why.

The fitted model scores the addresses; a recorded departure then scales them toward
"unknown": a person whose last border crossing is an exit, with none of their own records at
an address begun since, is at an address only if they came back unseen
(:func:`caseline.profiles.address_model.returned_unseen`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from caseline.profiles.address_evidence import gather_evidence
from caseline.profiles.address_model import (
    DAYS_PER_YEAR,
    AddressModel,
    current_probabilities,
    load_address_model,
    returned_unseen,
)
from caseline.profiles.address_records import load_address_records
from caseline.profiles.disputed import DisputedFacts, disputed_facts, scored_records
from caseline.profiles.status_evidence import (
    PersonStatus,
    load_status_records,
    person_status,
    status_by_person,
)


@dataclass(frozen=True, slots=True)
class AddressConfidence:
    address: str
    probability: float
    sources: tuple[str, ...]
    records: int
    first_seen: dt.date
    last_seen: dt.date
    open_accounts: int
    closed_accounts: int
    newer_elsewhere_days: int  # how long after its last sighting another address appeared
    lead: bool  # known only from records of a thin person with the same name
    namesakes: int  # for a lead: identified persons who bear that name


@dataclass(frozen=True, slots=True)
class PersonAddresses:
    as_of: dt.date
    addresses: list[AddressConfidence]  # most probable first
    unknown: float  # the probability that the person lives somewhere not on record
    lead_records: tuple[str, ...] = ()  # other persons' records the leads come from
    # A recorded departure the addresses were scaled for: the exit, with no entry and no
    # record at an address since, and the chance the person came back unseen.
    departed_on: dt.date | None = None
    returned_unseen: float | None = None


def score_evidence(
    records: pd.DataFrame,
    as_of: dt.date,
    model: AddressModel,
    departures: Mapping[str, dt.date] | None = None,
) -> pd.DataFrame:
    """The evidence at ``as_of`` with each address's probability and the person's unknown.

    ``departures`` (person id -> last exit with no entry after it, see
    :func:`load_departures`) scales a departed person's addresses toward unknown; the
    ``departed_on`` and ``returned_unseen`` columns say whose and by how much. Persons without
    a departure score exactly as without it.
    """
    evidence = gather_evidence(records, as_of)
    probability, unknown = current_probabilities(evidence, model)
    evidence["probability"] = probability
    evidence["unknown"] = (
        evidence["person_id"].map(unknown).to_numpy(float) if len(evidence) else []
    )
    return _scaled_for_departures(evidence, as_of, departures or {})


def load_departures(
    session: Session, as_of: dt.date, person_ids: Sequence[str] | None = None
) -> dict[str, dt.date]:
    """Per person (all, or these) whose last border crossing by ``as_of`` is an exit, its date."""
    statuses = status_by_person(load_status_records(session, person_ids), as_of)
    return {pid: s.departed_on for pid, s in statuses.items() if s.departed_on is not None}


def person_addresses(
    session: Session,
    person_id: str,
    as_of: dt.date,
    model: AddressModel | None = None,
    *,
    status: PersonStatus | None = None,
    disputed: DisputedFacts | None = None,
) -> PersonAddresses:
    """Score one person's addresses at ``as_of`` (no authorisation: the caller's job).

    ``status`` (the person's at ``as_of``) and ``disputed`` (the person's disputed facts),
    when the caller has read them already, are not read again."""
    records = load_address_records(session, person_id)
    if disputed is None:
        disputed = disputed_facts(session, person_id)  # what disputes take out of the score
    own = scored_records(records[records["person_id"] == person_id], disputed)
    leads = tuple(sorted(own.loc[own["lead"] == 1, "record_id"]))
    if status is None:
        status = person_status(load_status_records(session, [person_id]), as_of)
    departed = status.departed_on
    evidence = score_evidence(
        own, as_of, model or load_address_model(), {person_id: departed} if departed else None
    )
    if evidence.empty:
        return PersonAddresses(as_of, [], 1.0)
    evidence = evidence.sort_values(["probability", "address"], ascending=[False, True])
    addresses = [address_confidence(row) for row in evidence.to_dict("records")]
    # Rounded so that what is shown sums to one exactly.
    unknown = max(0.0, round(1.0 - sum(a.probability for a in addresses), 4))
    first = evidence.iloc[0]
    scaled = pd.notna(first["departed_on"])
    return PersonAddresses(
        as_of,
        addresses,
        unknown,
        leads,
        departed_on=pd.Timestamp(first["departed_on"]).date() if scaled else None,
        returned_unseen=round(float(first["returned_unseen"]), 4) if scaled else None,
    )


def _scaled_for_departures(
    evidence: pd.DataFrame, as_of: dt.date, departures: Mapping[str, dt.date]
) -> pd.DataFrame:
    """Scale the addresses of each person who left (an exit, and no own record at an address
    begun after it) by the chance they came back unseen; the rest goes to unknown."""
    if not departures:  # no one left: nothing is scaled
        evidence["departed_on"] = pd.Series(pd.NaT, index=evidence.index, dtype="datetime64[ns]")
        evidence["returned_unseen"] = np.nan
        return evidence
    exit_on = pd.to_datetime(evidence["person_id"].map(departures))
    seen_since = evidence["person_last_start"].notna() & (evidence["person_last_start"] > exit_on)
    applies = exit_on.notna() & ~seen_since
    evidence["departed_on"] = exit_on.where(applies)
    evidence["returned_unseen"] = np.nan
    if not applies.any():
        return evidence
    left = evidence.loc[applies]
    years_since = (pd.Timestamp(as_of) - left["departed_on"]).dt.days / DAYS_PER_YEAR
    years_seen = (left["departed_on"] - left["person_first_start"]).dt.days / DAYS_PER_YEAR
    rate = left["person_own_records"] / years_seen.fillna(0.0).clip(lower=1.0)
    back = returned_unseen(years_since.to_numpy(float), rate.to_numpy(float))
    unknown = left["unknown"].to_numpy(float)
    evidence.loc[applies, "returned_unseen"] = back
    evidence.loc[applies, "probability"] = left["probability"].to_numpy(float) * back
    evidence.loc[applies, "unknown"] = unknown + (1.0 - back) * (1.0 - unknown)
    return evidence


def address_confidence(row: dict[str, Any]) -> AddressConfidence:
    """One scored evidence row as the profile shows it."""
    return AddressConfidence(
        address=str(row["address"]),
        probability=round(float(row["probability"]), 4),
        sources=tuple(row["sources"]),
        records=int(row["records"]),
        first_seen=pd.Timestamp(row["first_seen"]).date(),
        last_seen=pd.Timestamp(row["last_seen"]).date(),
        open_accounts=int(row["open_accounts"]),
        closed_accounts=int(row["closed_accounts"]),
        newer_elsewhere_days=int(row["newer_elsewhere_days"]),
        lead=bool(row["lead"]),
        namesakes=int(row["claimants"]) if row["lead"] else 0,
    )
