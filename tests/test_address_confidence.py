import datetime as dt

import numpy as np
import pandas as pd
import pytest

from caseline.profiles.address_evidence import gather_evidence
from caseline.profiles.address_leads import MAX_CLAIMANTS, with_name_leads
from caseline.profiles.address_model import (
    ADDRESS_FEATURES,
    UNKNOWN_FEATURES,
    current_probabilities,
    fit_address_model,
    load_address_model,
)

AS_OF = dt.date(2026, 1, 1)
COLUMNS = (
    "person_id",
    "record_id",
    "source",
    "observed_on",
    "valid_from",
    "valid_to",
    "street_number",
    "street",
    "unit",
    "city",
    "state",
    "postcode",
    "given_name",
    "family_name",
    "date_of_birth",
    "ssn_hash",
)


def _record(person: str, key: str, source: str, street: str | None, **fields: object) -> dict:
    row: dict[str, object] = dict.fromkeys(COLUMNS)
    number, _, name = (street or "").partition(" ")
    row |= {"person_id": person, "record_id": key, "source": source}
    if street:
        row |= {
            "street_number": number,
            "street": name,
            "city": "SPRINGFIELD",
            "state": "IL",
            "postcode": fields.pop("postcode", "62704"),
        }
    row |= {"given_name": "ANA", "family_name": "LOPEZ", "date_of_birth": dt.date(1980, 1, 2)}
    row |= fields
    return row


def _frame(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(COLUMNS))
    return frame.astype(object).where(frame.notna(), None).sort_values("person_id")


@pytest.fixture
def moved() -> pd.DataFrame:
    """Ana lived at 1 Main St (utility account closed), moved to 9 Oak Ave (account open);
    a court record still gives the old address later; a 2027 record is not evidence yet."""
    d = dt.date
    return _frame(
        _record(
            "P1",
            "u1",
            "utility",
            "1 MAIN ST",
            valid_from=d(2019, 1, 5),
            valid_to=d(2023, 6, 1),
            observed_on=d(2023, 6, 1),
        ),
        _record("P1", "m1", "motor_vehicle", "1 MAIN ST", observed_on=d(2021, 3, 3)),
        _record("P1", "m2", "motor_vehicle", "1 MIAN ST", observed_on=d(2022, 3, 3)),  # a typo
        _record(
            "P1",
            "u2",
            "utility",
            "9 OAK AVE",
            valid_from=d(2023, 6, 10),
            observed_on=d(2023, 6, 10),
        ),
        _record("P1", "t1", "tax", "9 OAK AVE", observed_on=d(2024, 12, 31)),
        _record("P1", "c1", "court", "1 MAIN ST", observed_on=d(2023, 9, 1)),
        _record("P1", "f1", "tax", "5 ELM RD", observed_on=d(2027, 12, 31)),
    )


def test_evidence_counts_accounts_dates_and_merges_a_misspelt_street(moved: pd.DataFrame) -> None:
    evidence = gather_evidence(moved, AS_OF).set_index("address_key")
    assert set(evidence.index) == {"1 MAIN ST 62704", "9 OAK AVE 62704"}  # 2027 is not yet
    old, new = evidence.loc["1 MAIN ST 62704"], evidence.loc["9 OAK AVE 62704"]
    assert old["variants"] == ("1 MAIN ST 62704", "1 MIAN ST 62704")
    assert (old["records"], old["closed_accounts"], old["open_accounts"]) == (4, 1, 0)
    assert (new["records"], new["closed_accounts"], new["open_accounts"]) == (2, 0, 1)
    assert old["last_seen"] == pd.Timestamp(2023, 9, 1)  # the court's stale sighting
    assert bool(new["latest_arrival"]) and not bool(old["latest_arrival"])
    assert new["sources"] == ("tax", "utility")


def test_an_account_closing_after_the_reference_date_was_open_on_it(moved: pd.DataFrame) -> None:
    evidence = gather_evidence(moved, dt.date(2022, 12, 31)).set_index("address_key")
    assert list(evidence.index) == ["1 MAIN ST 62704"]
    assert evidence.loc["1 MAIN ST 62704", "open_accounts"] == 1
    assert evidence.loc["1 MAIN ST 62704", "closed_accounts"] == 0


def test_the_new_address_is_most_probable_and_a_person_sums_to_at_most_one(
    moved: pd.DataFrame,
) -> None:
    evidence = gather_evidence(moved, AS_OF)
    probability, unknown = current_probabilities(evidence, load_address_model())
    by_key = dict(zip(evidence["address_key"], probability, strict=True))
    assert by_key["9 OAK AVE 62704"] > 0.5 > by_key["1 MAIN ST 62704"]
    assert probability.sum() + unknown["P1"] == pytest.approx(1.0)
    assert 0 < unknown["P1"] < 1


def test_old_evidence_leaves_more_to_unknown(moved: pd.DataFrame) -> None:
    model = load_address_model()
    _, soon = current_probabilities(gather_evidence(moved, AS_OF), model)
    _, later = current_probabilities(gather_evidence(moved, dt.date(2032, 1, 1)), model)
    assert later["P1"] > soon["P1"]


def test_probabilities_ignore_group_sex_and_citizenship(moved: pd.DataFrame) -> None:
    names = {*ADDRESS_FEATURES, *UNKNOWN_FEATURES}
    assert not names & {"group", "sex", "citizenship", "nationality", "country_of_birth"}
    model = load_address_model()
    plain, _ = current_probabilities(gather_evidence(moved, AS_OF), model)
    marked = moved.assign(group="vietnamese", sex="F", citizenship="VIETNAM")
    again, _ = current_probabilities(gather_evidence(marked, AS_OF), model)
    assert np.array_equal(plain, again)


def test_a_thin_namesake_is_a_lead_of_the_one_identified_person_of_that_name() -> None:
    d = dt.date
    records = _frame(
        _record("P1", "a", "tax", "1 MAIN ST", observed_on=d(2024, 12, 31)),
        _record(
            "P2",
            "b",
            "tax",
            "4 PINE CT",
            observed_on=d(2024, 12, 31),
            ssn_hash="x",
            given_name="EVA",
        ),
        # a thin person: a utility account with the name only, at a new address
        _record(
            "T1",
            "c",
            "utility",
            "7 NEW RD",
            valid_from=d(2025, 6, 1),
            observed_on=d(2025, 6, 1),
            date_of_birth=None,
        ),
        # a thin person nobody identified bears the name of
        _record(
            "T2",
            "e",
            "utility",
            "8 FAR LN",
            valid_from=d(2025, 6, 1),
            date_of_birth=None,
            given_name="ZED",
            family_name="QUINN",
        ),
    )
    leads = with_name_leads(records)
    lead_rows = leads[leads["lead"] == 1]
    assert set(lead_rows["person_id"]) == {"P1"}
    assert set(lead_rows["record_id"]) == {"c"} and set(lead_rows["claimants"]) == {1}
    evidence = gather_evidence(leads, AS_OF)
    lead = evidence[(evidence["person_id"] == "P1") & (evidence["lead"] == 1)]
    assert list(lead["address_key"]) == ["7 NEW RD 62704"]
    # identified persons' own records never become leads of one another
    assert not ((leads["record_id"] == "a") & (leads["lead"] == 1)).any()


def test_a_name_too_common_gives_no_lead() -> None:
    rows = [
        _record(f"P{i}", f"r{i}", "tax", f"{i} MAIN ST", observed_on=dt.date(2024, 12, 31))
        for i in range(MAX_CLAIMANTS + 1)
    ]
    thin = _record(
        "T", "t", "utility", "7 NEW RD", valid_from=dt.date(2025, 6, 1), date_of_birth=None
    )
    leads = with_name_leads(_frame(*rows, thin))
    assert not (leads["lead"] == 1).any()


def test_fitting_recovers_a_preference_for_open_accounts() -> None:
    rng = np.random.default_rng(5)
    rows, labels = [], []
    for person in range(400):
        current = rng.integers(0, 2)
        for address in range(2):
            is_current = address == current
            open_account = int(rng.random() < (0.8 if is_current else 0.1))
            rows.append(
                {
                    "person_id": f"P{person:04d}",
                    "address_key": f"A{address}",
                    "age_days": 100,
                    "last_seen": pd.Timestamp(2025, 9, 1),
                    "first_seen": pd.Timestamp(2020, 1, 1),
                    "person_last_seen": pd.Timestamp(2025, 9, 1),
                    "newer_elsewhere_days": 0,
                    "open_accounts": open_account,
                    "closed_accounts": 0,
                    "source_count": 1,
                    "records": 2,
                    "latest_arrival": False,
                    "arrival_age_days": 2000,
                    "lead": 0,
                    "claimants": 0,
                    "person_age_days": 100,
                    "person_open_accounts": open_account,
                    "person_addresses": 2,
                }
            )
            labels.append(is_current)
    model = fit_address_model(pd.DataFrame(rows), np.array(labels), {"test": True})
    assert model.address_weights[ADDRESS_FEATURES.index("open_account")] > 1.0


def test_a_person_with_no_address_on_record_states_unknown_with_certainty() -> None:
    from caseline.profiles.address_confidence import score_evidence
    from caseline.profiles.address_evaluation import _options, _scores

    no_address = _frame(_record("P1", "x1", "entry_exit", None, observed_on=dt.date(2025, 1, 1)))
    evidence = score_evidence(no_address, AS_OF, load_address_model())
    judged = pd.DataFrame(
        [("E1", "P1", "anglo", "1 MAIN ST 62704", True)],
        columns=["entity_id", "person_id", "group", "true_key", "seen"],
    )
    scores = _scores(judged, _options(evidence, judged))
    assert evidence.empty
    assert scores.methods["caseline"].top1_accuracy == 0.0
    assert scores.methods["caseline"].brier == 0.0  # all on "unknown", which is right here
    assert scores.methods["most_recent"].brier == 1.0  # a rule states nothing, and misses it


def test_streets_of_another_type_or_direction_stay_two_addresses() -> None:
    d = dt.date(2024, 12, 31)
    records = _frame(
        _record("P1", "a", "tax", "4 OAK ST", observed_on=d),
        _record("P1", "b", "tax", "4 OAK CT", observed_on=d),
        _record("P1", "c", "tax", "9 W MAIN ST", observed_on=d, postcode="62705"),
        _record("P1", "e", "tax", "9 E MAIN ST", observed_on=d, postcode="62705"),
    )
    assert len(gather_evidence(records, AS_OF)) == 4
