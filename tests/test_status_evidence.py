"""What a person's records say about status, judged from the records alone (no database)."""

from __future__ import annotations

import datetime as dt

from caseline.profiles import person_status
from caseline.profiles.status_evidence import StatusRecord
from caseline.standardise.status import StatusTerm

AS_OF = dt.date(2026, 1, 1)


def _visa(issued: dt.date) -> StatusRecord:
    extra = {"event_type": "VISA_ISSUED", "benefit": "F1"}
    return StatusRecord("visa", "P1", "immigration_status", issued, None, extra)


def _entry(on: dt.date, record_id: str = "entry") -> StatusRecord:
    extra = {"event_type": "ENTRY", "port": "JFK"}
    return StatusRecord(record_id, "P1", "entry_exit", on, "EGYPT", extra)


def _visa_term(*records: StatusRecord) -> StatusTerm:
    status = person_status(records, AS_OF)
    return next(e.term for e in status.evidence if e.record_id == "visa")


def test_a_visa_runs_from_the_entry_it_admitted_not_from_its_issue() -> None:
    issued = dt.date(2019, 11, 12)  # six years from issue ended before AS_OF
    assert _visa_term(_visa(issued)) is StatusTerm.EXPIRED_VISA
    # Admitted three months after issue: six years from the entry run past AS_OF.
    assert _visa_term(_visa(issued), _entry(dt.date(2020, 2, 3))) is StatusTerm.VALID_VISA
    # Only an entry on or after the issue admits on it; the first such entry counts.
    before, first, later = dt.date(2019, 1, 5), dt.date(2019, 12, 1), dt.date(2024, 5, 1)
    assert _visa_term(_visa(issued), _entry(before)) is StatusTerm.EXPIRED_VISA
    records = (_visa(issued), _entry(first, "e1"), _entry(later, "e2"))
    assert _visa_term(*records) is StatusTerm.EXPIRED_VISA


def test_a_valid_visa_stops_a_case_and_an_expired_one_does_not() -> None:
    valid = person_status([_visa(dt.date(2019, 11, 12)), _entry(dt.date(2020, 2, 3))], AS_OF)
    expired = person_status([_visa(dt.date(2019, 11, 12))], AS_OF)
    assert [e.record_id for e in valid.stopping] == ["visa"]
    assert expired.stopping == []
