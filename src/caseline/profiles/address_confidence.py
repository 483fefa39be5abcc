"""A person's addresses with the probability that each is the current residence, and why."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from caseline.profiles.address_evidence import gather_evidence
from caseline.profiles.address_model import AddressModel, current_probabilities, load_address_model
from caseline.profiles.address_records import load_address_records


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


def score_evidence(records: pd.DataFrame, as_of: dt.date, model: AddressModel) -> pd.DataFrame:
    """The evidence at ``as_of`` with each address's probability and the person's unknown."""
    evidence = gather_evidence(records, as_of)
    probability, unknown = current_probabilities(evidence, model)
    evidence["probability"] = probability
    evidence["unknown"] = (
        evidence["person_id"].map(unknown).to_numpy(float) if len(evidence) else []
    )
    return evidence


def person_addresses(
    session: Session, person_id: str, as_of: dt.date, model: AddressModel | None = None
) -> PersonAddresses:
    """Score one person's addresses at ``as_of`` (no authorisation: the caller's job)."""
    records = load_address_records(session, person_id)
    own = records[records["person_id"] == person_id]
    leads = tuple(sorted(own.loc[own["lead"] == 1, "record_id"]))
    evidence = score_evidence(own, as_of, model or load_address_model())
    if evidence.empty:
        return PersonAddresses(as_of, [], 1.0)
    evidence = evidence.sort_values(["probability", "address"], ascending=[False, True])
    addresses = [_confidence(row) for row in evidence.to_dict("records")]
    # Rounded so that what is shown sums to one exactly.
    unknown = max(0.0, round(1.0 - sum(a.probability for a in addresses), 4))
    return PersonAddresses(as_of, addresses, unknown, leads)


def _confidence(row: dict[str, Any]) -> AddressConfidence:
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
