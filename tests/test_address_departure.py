"""A recorded departure moves a person's address probabilities toward "unknown"."""

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import PersonRecord, SourceRecord
from caseline.ingest import ingest_file
from caseline.profiles import load_address_model, person_addresses
from caseline.profiles.address_confidence import load_departures, score_evidence
from caseline.profiles.address_evidence import RECORD_COLUMNS
from caseline.profiles.address_model import MISSED_RETURN, returned_unseen
from caseline.profiles.address_records import load_address_records
from tests.conftest import OPERATOR

AS_OF = dt.date(2026, 1, 1)


def _record(person: str, record: str, observed: str, number: str, **dates: str) -> dict[str, str]:
    row = dict.fromkeys(RECORD_COLUMNS)
    row.update(
        person_id=person, record_id=record, source="tax", observed_on=observed,
        street_number=number, street="MAIN ST", city="SPRINGFIELD", state="IL",
        postcode="62701", **dates,
    )  # fmt: skip
    return row


def _records() -> pd.DataFrame:
    rows = [
        # P1 left on 2023-06-01 after records at two addresses; P2 never left; P3 left and
        # was recorded at an address after it.
        _record("P1", "a", "2019-03-01", "1"),
        _record("P1", "b", "2020-03-01", "1"),
        _record("P1", "c", "2022-03-01", "2"),
        _record("P1", "d", "2023-03-01", "2"),
        _record("P2", "e", "2021-03-01", "7"),
        _record("P2", "f", "2025-03-01", "8"),
        _record("P3", "g", "2021-03-01", "9"),
        _record("P3", "h", "2024-03-01", "9"),
    ]
    frame = pd.DataFrame(rows, columns=list(RECORD_COLUMNS))
    for column in ("observed_on", "valid_from", "valid_to"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame.astype(object).where(frame.notna(), None)


def test_the_chance_of_coming_back_unseen_falls_with_time_and_with_how_often_one_is_seen() -> None:
    years = np.array([0.0, 0.5, 2.0, 2.0])
    rate = np.array([1.0, 1.0, 1.0, 3.0])
    back = returned_unseen(years, rate)
    assert back[0] == pytest.approx(MISSED_RETURN)
    assert np.all(np.diff(back) < 0)
    assert returned_unseen(np.array([1.0]), np.array([0.0]))[0] == pytest.approx(MISSED_RETURN)


def test_a_departure_scales_the_addresses_toward_unknown_and_no_one_else_moves() -> None:
    model = load_address_model()
    departures = {"P1": dt.date(2023, 6, 1), "P3": dt.date(2023, 6, 1)}
    plain = score_evidence(_records(), AS_OF, model)
    scaled = score_evidence(_records(), AS_OF, model, departures)
    p1_plain, p1 = plain[plain["person_id"] == "P1"], scaled[scaled["person_id"] == "P1"]
    # Four records over the four years before the exit: one a year; gone 2.58 years since.
    years_gone = (dt.date(2026, 1, 1) - dt.date(2023, 6, 1)).days / 365.25
    rate = 4 / ((dt.date(2023, 6, 1) - dt.date(2019, 3, 1)).days / 365.25)
    back = returned_unseen(np.array([years_gone]), np.array([rate]))[0]
    assert p1["returned_unseen"].tolist() == pytest.approx([back, back])
    assert p1["probability"].to_numpy() == pytest.approx(p1_plain["probability"].to_numpy() * back)
    assert p1["probability"].sum() + p1["unknown"].iloc[0] == pytest.approx(1.0)
    assert p1["probability"].max() < 0.01 < p1_plain["probability"].max()
    assert (p1["departed_on"] == pd.Timestamp("2023-06-01")).all()
    # P2 has no departure and P3 was recorded at an address after the exit: unchanged.
    for person in ("P2", "P3"):
        before, after = plain[plain["person_id"] == person], scaled[scaled["person_id"] == person]
        assert after["probability"].tolist() == before["probability"].tolist()
        assert after["unknown"].tolist() == before["unknown"].tolist()
        assert after["departed_on"].isna().all() and after["returned_unseen"].isna().all()


def test_a_record_begun_after_the_exit_shows_the_person_back_but_a_lead_does_not() -> None:
    model = load_address_model()
    records = _records()
    after_exit = _record("P1", "z", "2024-01-01", "3")
    with_lead = pd.concat(
        [records.assign(lead=0, claimants=0), pd.DataFrame([{**after_exit, "lead": 1,
                                                              "claimants": 1}])],
        ignore_index=True,
    ).sort_values("person_id", kind="stable")  # fmt: skip
    led = score_evidence(with_lead, AS_OF, model, {"P1": dt.date(2023, 6, 1)})
    assert led.loc[led["person_id"] == "P1", "departed_on"].notna().all()
    own = pd.concat([records, pd.DataFrame([after_exit])], ignore_index=True)
    own = own.sort_values("person_id", kind="stable")
    back = score_evidence(own, AS_OF, model, {"P1": dt.date(2023, 6, 1)})
    assert back.loc[back["person_id"] == "P1", "departed_on"].isna().all()


def _ingest_exit(settings: Settings, database: Database, path: Path, on: dt.date) -> str:
    columns = ["event_id", "event_type", "event_date", "port", "passport_number",
               "citizenship", "surname", "given_names", "date_of_birth", "sex"]  # fmt: skip
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerow({"event_id": "LEFT-1", "event_type": "EXIT", "event_date": on.isoformat(),
                         "port": "JFK", "surname": "LEAVER", "given_names": "ONE"})  # fmt: skip
    with database.transaction() as session:
        ingest_file(
            session, path, "entry_exit", identifier_key=settings.identifier_key, actor=OPERATOR
        )
        record_id = session.scalar(
            select(SourceRecord.record_id).where(SourceRecord.source_key == "LEFT-1")
        )
    assert record_id is not None
    return record_id


def test_a_profile_of_a_person_whose_exit_is_the_last_record_says_so(
    mutable_resolved: tuple[Settings, Database], tmp_path: Path
) -> None:
    settings, database = mutable_resolved
    with database.transaction() as session:
        departed = load_departures(session, AS_OF)
        records = load_address_records(session)
    own = records[(records["lead"] == 0) & records["street"].notna()]
    last_seen = pd.to_datetime(own["valid_from"].fillna(own["observed_on"]))
    latest = last_seen.groupby(own["person_id"]).max()
    confident = [
        pid
        for pid in latest.index
        if pid not in departed and latest[pid] < pd.Timestamp("2025-06-01")
    ]
    with database.transaction() as session:
        chosen = next(pid for pid in confident if person_addresses(session, pid, AS_OF).addresses)
        before = person_addresses(session, chosen, AS_OF)
    assert before.departed_on is None and before.returned_unseen is None
    left_on = dt.date(2025, 7, 1)
    exit_record = _ingest_exit(settings, database, tmp_path / "exit.csv", left_on)
    with database.transaction() as session:
        session.add(PersonRecord(record_id=exit_record, person_id=chosen))
    with database.transaction() as session:
        after = person_addresses(session, chosen, AS_OF)
        earlier = person_addresses(session, chosen, dt.date(2025, 6, 30))
    assert after.departed_on == left_on
    assert after.returned_unseen is not None and after.returned_unseen < MISSED_RETURN
    assert sum(a.probability for a in after.addresses) <= after.returned_unseen + 1e-3
    assert after.unknown > before.unknown
    assert [a.address for a in after.addresses] == [a.address for a in before.addresses]
    assert earlier.departed_on is None  # the exit is not evidence before its date


def test_persons_without_a_departure_score_as_the_fitted_model_alone(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    with database.transaction() as session:
        records = load_address_records(session)
        departures = load_departures(session, AS_OF)
    model = load_address_model()
    plain = score_evidence(records, AS_OF, model)
    scaled = score_evidence(records, AS_OF, model, departures)
    moved = scaled["departed_on"].notna()
    assert set(scaled.loc[moved, "person_id"]) <= set(departures)
    assert moved.any(), "the small world should hold a person who left"
    assert scaled.loc[~moved, "probability"].tolist() == plain.loc[~moved, "probability"].tolist()
    assert scaled.loc[~moved, "unknown"].tolist() == plain.loc[~moved, "unknown"].tolist()
    assert (
        scaled.loc[moved, "probability"] <= MISSED_RETURN * plain.loc[moved, "probability"]
    ).all()
