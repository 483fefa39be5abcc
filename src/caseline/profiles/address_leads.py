"""Leads: addresses from records that resolution left apart but that bear a person's name.

A person who has just moved is often known at the new address only to a utility, whose
record has a name and nothing else to link it by; resolution rightly leaves it as a person
of its own. For address confidence such a record is a lead: an address that the person may
have moved to. A lead comes only from a *thin* person (no date of birth, no identifier on
any record), goes to every *identified* person with exactly the same given and family name,
and says how many such persons there are: the more who share the name, the weaker the lead.
The model weighs leads like any evidence, and the profile shows them as leads.
"""

from __future__ import annotations

import pandas as pd

IDENTIFIER_COLUMNS = (
    "ssn_hash", "itin_hash", "a_number_hash", "passport_hash", "licence_hash", "other_id_hash",
)  # fmt: skip
MAX_CLAIMANTS = 1  # a lead only where one identified person bears the name: shared by
# two or more, a thin record goes to the wrong one of them too often to be evidence


def identifying(records: pd.DataFrame) -> pd.Series:
    """Per record, whether it identifies its person (a date of birth or an identifier): a
    person with one such record is identified, a person with none is thin."""
    columns = ["date_of_birth", *(c for c in IDENTIFIER_COLUMNS if c in records.columns)]
    return pd.Series(records[columns].notna().to_numpy().any(axis=1), index=records.index)


def with_name_leads(records: pd.DataFrame) -> pd.DataFrame:
    """The records (``lead`` 0) plus, for each record of a thin person, one copy per
    identified person of the same name (``lead`` 1, ``claimants`` the number of them)."""
    base = records.assign(lead=0, claimants=0)
    named = records["given_name"].notna() & records["family_name"].notna()
    if not named.any():
        return base
    person_identified = records["person_id"].isin(
        set(records.loc[identifying(records), "person_id"])
    )
    thin = named & ~person_identified & records["street"].notna()
    if not thin.any():
        return base
    name = records["given_name"].astype(str) + "|" + records["family_name"].astype(str)
    names = pd.DataFrame(
        {"person_id": records["person_id"], "name": name, "identified": person_identified}
    )[named]
    claimants = names[names["identified"]].drop_duplicates(["name", "person_id"])
    counts = claimants.groupby("name")["person_id"].size().rename("claimants")
    claimants = claimants.join(counts, on="name")
    claimants = claimants[claimants["claimants"] <= MAX_CLAIMANTS]
    if claimants.empty:
        return base
    leads = (
        records[thin]
        .assign(name=name[thin])
        .drop(columns=["person_id"])
        .merge(claimants[["name", "person_id", "claimants"]], on="name")
        .drop(columns=["name"])
        .assign(lead=1)
    )
    return pd.concat([base, leads[base.columns]], ignore_index=True).sort_values(
        "person_id", kind="stable"
    )
