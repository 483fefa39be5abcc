"""Counting the generator's hard cases in a world's files, for the data card: the keys on which a
written record meets a person, and what each hard case is, counted from what the sources wrote."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pandas as pd
from anyascii import anyascii

from caseline.synth import HardCases, WorldSummary
from caseline.synth.population import JUNIOR_RATE, JUNIOR_RATE_OTHERS
from caseline.synth.tables import SOURCE_KEYS

Frames = dict[str, pd.DataFrame]
TYPO_KINDS = frozenset({"keyboard_typo", "ocr_typo", "date_of_birth_typo", "date_of_birth_swap"})
NAMESAKE_DATE_OF_BIRTH = "namesake_date_of_birth"  # the error kind of a planted misdated record
# How each source writes a name and a date of birth: (given, family, date of birth, its format).
WRITTEN_NAMES = {
    "motor_vehicle": ("first_name", "last_name", "dob", "%Y-%m-%d"),
    "tax": ("taxpayer_name", "taxpayer_name", "date_of_birth", "%m/%d/%Y"),
    "entry_exit": ("given_names", "surname", "date_of_birth", "%d %b %Y"),
    "immigration_status": ("given_name", "family_name", "date_of_birth", "%m/%d/%Y"),
    "court": ("respondent_name", "respondent_name", "date_of_birth", "%Y-%m-%d"),
}
# Where each source writes an address: (street line, postcode) or the one-line form.
WRITTEN_ADDRESSES = {
    "utility": ("service_address", "service_zip"), "motor_vehicle": ("street_address", "zip"),
    "tax": ("address", None), "immigration_status": ("mailing_address", None),
    "court": ("address", None),
}  # fmt: skip

Frames = dict[str, pd.DataFrame]


def first_word(names: pd.Series, *, family: bool = False) -> pd.Series:
    """A name's first word in ASCII capitals (an article such as El- dropped from a surname):
    the key on which a written name meets a person's legal one."""
    unique = pd.Series(names.unique())
    words = unique.map(anyascii).str.upper().str.replace(r"[^A-Z\s-]", "", regex=True)
    if family:
        words = words.str.replace(r"^(EL|AL)[\s-]+(?=\S)", "", regex=True)
    first = words.str.extract(r"^[\s-]*([A-Z]+)", expand=False).fillna("")
    return names.map(dict(zip(unique, first, strict=True)))


def written_keys(d: Frames) -> pd.DataFrame:
    """Every record that carries a name and a date of birth: its person, its error kinds, and
    its key (first given word, first family word, date of birth) as written."""
    frames = []
    for source, (given, family, born, form) in WRITTEN_NAMES.items():
        rows = d[source]
        given_names, family_names = rows[given], rows[family]
        if given == family:  # "FAMILY[ JR], GIVEN MIDDLE"
            parts = rows[given].str.split(", ", n=1, expand=True).reindex(columns=[0, 1])
            family_names, given_names = parts[0].fillna(""), parts[1].fillna("")
        dob = pd.to_datetime(rows[born], format=form, errors="coerce").dt.strftime("%Y-%m-%d")
        frames.append(pd.DataFrame({
            "source": source, "source_key": rows[SOURCE_KEYS[source]],
            "key": first_word(given_names) + "|" + first_word(family_names, family=True) + "|"
            + dob,
        })[dob.notna().to_numpy()])  # fmt: skip
    keys = pd.concat(frames, ignore_index=True)
    return keys.merge(d["truth"], on=["source", "source_key"])


def person_keys(p: pd.DataFrame) -> pd.DataFrame:
    """Each person's key under their legal name now and, if it changed, before."""
    given = first_word(p.given_name)
    frames = [
        pd.DataFrame({"entity_id": p.entity_id, "key": given + "|" + first_word(family,
                      family=True) + "|" + p.date_of_birth})[family != ""]
        for family in (p.family_name, p.previous_family_name)
    ]  # fmt: skip
    return pd.concat(frames, ignore_index=True).drop_duplicates()


def address_keys(d: Frames) -> pd.DataFrame:
    """Every record that carries an address: its person, and its key (street line|zip)."""
    frames = []
    for source, (line, postcode) in WRITTEN_ADDRESSES.items():
        rows = d[source]
        text = rows[line].str.upper()
        if postcode is None:  # "LINE, CITY, ST 12345"
            zips, text = text.str[-5:], text.str.split(", ").str[0]
        else:
            zips = rows[postcode]
        frames.append(pd.DataFrame({
            "source": source, "source_key": rows[SOURCE_KEYS[source]], "address": text + "|" + zips,
        })[(rows[line] != "").to_numpy()])  # fmt: skip
    return pd.concat(frames, ignore_index=True).merge(d["truth"], on=["source", "source_key"])


def measure_hard_cases(d: Frames, reference: pd.Timestamp) -> dict[str, int]:
    """The hard cases of the issue, counted from the files alone (see HARD_CASES)."""
    p, truth = d["persons"], d["truth"]
    name_year = p.given_name + "|" + p.family_name + "|" + p.date_of_birth.str[:4]
    ordered = p[p.status == "final_removal_order"].assign(key=name_year)
    citizens = p[p.status.str.startswith("citizen")].assign(key=name_year)
    namesakes = citizens.merge(ordered, on="key", suffixes=("", "_ordered"))
    namesakes = namesakes[namesakes.household_id != namesakes.household_id_ordered]

    juniors = p[p.suffix == "JR"].merge(
        p[p.suffix == "SR"], on=["household_id", "given_name", "family_name"]
    )

    status_rows = d["immigration_status"].merge(
        truth, left_on="receipt_number", right_on="source_key"
    )
    visas = status_rows[status_rows.event_type == "VISA_ISSUED"].entity_id
    naturalised = p[(p.status == "citizen_naturalised") & p.entity_id.isin(visas)]

    hearings = d["court"].merge(truth, left_on="hearing_id", right_on="source_key")
    orders = hearings[hearings.outcome == "REMOVAL_ORDERED"].groupby("entity_id").hearing_date.min()
    asylum = status_rows[
        (status_rows.event_type == "APPLICATION_FILED") & (status_rows.benefit == "ASYLUM")
    ]
    after = asylum[asylum.event_date > asylum.entity_id.map(orders).fillna("9999")].entity_id
    reopened = p[(p.status == "pending_asylum") & p.entity_id.isin(after)]

    keys, people = written_keys(d), person_keys(p)
    own = keys.merge(people, on=["entity_id", "key"], how="left", indicator=True)._merge == "both"
    confusable = keys[~own.to_numpy() & keys.key.isin(people.key).to_numpy()]
    kinds = confusable.errors.str.split(";").map(set)
    misdated = kinds.map(lambda k: NAMESAKE_DATE_OF_BIRTH in k).to_numpy(dtype=bool)
    typo = kinds.map(lambda k: bool(k & TYPO_KINDS)).to_numpy(dtype=bool)
    slipped = truth.errors.str.contains(NAMESAKE_DATE_OF_BIRTH, regex=False)

    res = d["residences"]
    moved_in = pd.to_datetime(res.moved_in)
    homes = res.groupby("entity_id").size()
    latest = res[(res.moved_out == "") & (moved_in > reference - pd.Timedelta(days=31))
                 & (res.entity_id.map(homes) >= 2).to_numpy()]  # fmt: skip
    latest_key = latest.address.str.upper().str.split(", ").str[0] + "|" + latest.postcode
    written = address_keys(d)
    seen = written.merge(pd.DataFrame({"entity_id": latest.entity_id, "address": latest_key}))
    return {
        "namesake_citizen": namesakes.entity_id.nunique(),
        "namesake_date_of_birth": int(slipped.sum()),
        "namesake_date_of_birth_exact": int(misdated.sum()),
        "typo": int((typo & ~misdated).sum()),
        "asylum_after_order": len(reopened),
        "junior": len(juniors),
        "naturalised_visa": len(naturalised),
        "moved": len(latest),
        "moved_recorded": seen.entity_id.nunique(),
    }


# The card's row of each hard case: what is counted, and how the world comes to hold it.
HARD_CASES = {
    "namesake_citizen": (
        "citizen with the name and birth year of a person ordered removed",
        "citizens whose given and family name and year of birth are those of a person with a "
        "final removal order in another household",
    ),
    "namesake_date_of_birth": (
        "… a record of theirs with the ordered person's date of birth",
        "records of error kind namesake_date_of_birth: one slip from the truth, and the "
        "ordered person's",
    ),
    "namesake_date_of_birth_exact": (
        "… of which written with the ordered person's name too",
        "of those, records whose written name and date of birth are exactly another person's",
    ),
    "typo": (
        "record that an ordinary typo makes another person's",
        "records whose written name and date of birth are exactly another person's, not their "
        "own, through a typo, a swapped day and month or a mistyped date",
    ),
    "asylum_after_order": (
        "asylum filed after a removal order, pending",
        "pending_asylum persons whose asylum application is dated after their REMOVAL_ORDERED "
        "hearing",
    ),
    "junior": ("Jr./Sr. pair", "sons with their father's name and a Jr. suffix, at home"),
    "naturalised_visa": (
        "naturalised citizen whose old visa record remains",
        "citizen_naturalised persons with a VISA_ISSUED record",
    ),
    "moved": (
        "moved in the last 31 days",
        "persons whose current home is a move made in the 31 days before the reference date",
    ),
    "moved_recorded": (
        "… already recorded at the new home",
        "of those, persons some source shows at the new address (the rest not yet)",
    ),
}


ARISES = {
    "namesake_date_of_birth_exact": "when no other error garbles the name",
    "typo": "by chance, from the error knobs",
    "junior": "by itself: a son named after his father ("
    + ", ".join(f"{g} {r:.0%}" for g, r in JUNIOR_RATE.items())
    + f", other groups {JUNIOR_RATE_OTHERS:.0%})",
    "naturalised_visa": "by itself: entered on a visa from 2015 and naturalised since",
    "moved": "by itself: moves at the renters' and owners' yearly rates",
    "moved_recorded": "by itself: a utility account opened around the move, or a DMV change",
}


def hard_cases(card: Any, world: WorldSummary, d: Frames) -> None:
    counts = measure_hard_cases(d, pd.Timestamp(world.reference_date))
    log, rates = world.hard_cases, asdict(HardCases())
    card.add(
        "## Hard cases",
        "The situations in which a careless match or a stale record would lead to a wrongful "
        "action, each counted from the generated files. Some arise by themselves at a useful "
        "rate. The others arise too seldom or never by chance (a namesake citizen of a person "
        "ordered removed mostly among the commonest names, a typo that turns a record into "
        "another person's hardly ever, an asylum claim after an order never), so the generator "
        "plants them at the rates of `synth.hard_cases.HardCases`. A namesake citizen is a "
        "US-born person living alone with the ordered person's given and family name, sex and "
        "birth year; for some of them the date of birth is one slip from the ordered person's "
        "and their first record that writes one writes the ordered person's (error kind "
        "`namesake_date_of_birth`). An asylum application filed after a removal order makes "
        "the person pending_asylum from that day, in the status history, the events and the "
        "persons file alike. For a planted case the table gives the generator's own log beside "
        "its count: planted / eligible persons, and the number the knob leads to expect.",
    )
    rows = []
    for case, (label, counted) in HARD_CASES.items():
        n = counts[case]
        if case in rates:
            planted, eligible = log.applied.get(case, 0), log.eligible.get(case, 0)
            how = (
                f"planted, `{case}`={rates[case]:g}: {planted:,} / {eligible:,} "
                f"(expected {log.expected.get(case, 0.0):.0f})"
            )
            if case == "namesake_citizen":
                how += f"; {n - planted:,} more by chance"
        else:
            how = ARISES[case]
        rows.append([label, n, f"{1000 * n / world.persons:.2f}", how, counted])
    card.table(rows, "case|count|per 1,000 persons|how it arises|counted")
    planted = ", ".join(f"{HARD_CASES[c][0].lstrip('… ')} {counts[c]:,}" for c in rates)
    card.summary["hard cases planted"] = planted
