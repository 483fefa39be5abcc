"""The facts a priority rule may read, computed from a person's own records.

Each fact of :data:`caseline.cases.priority_policy.FACTS` comes from what the lead rules
read (:func:`caseline.cases.leads.findings`: the final order, the deadline passed, the stay
ended), the court records' outcomes as the source states them, and the family names the
person's records give. Nothing here reads a naming group, nationality, sex or place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy.orm import Session

from caseline.cases.leads import Lead, LeadRule, findings
from caseline.profiles import (
    PersonStatus,
    in_country_since,
    load_status_records,
    status_by_person,
)
from caseline.profiles.record_identities import record_identities

Facts = Mapping[str, int | bool]
MISSED_HEARING_WORDS = ("ABSENTIA", "FAILED_TO_APPEAR", "FAILED TO APPEAR", "NO_SHOW")
CONVICTION_WORDS = ("CONVICTED", "CONVICTION")
_CHUNK = 5000  # persons per read


def person_facts(
    status: PersonStatus,
    as_of: dt.date,
    present_since: dt.date | None,
    family_names: Iterable[str | None] = (),
) -> dict[str, int | bool]:
    """Every fact of the vocabulary for one person on ``as_of``."""
    facts: dict[str, int | bool] = {
        "final_order": False, "final_order_days": 0, "departure_deadline_passed": False,
        "days_past_deadline": 0, "overstay_days": 0,
    }  # fmt: skip
    for rule, _, since, _ in findings(status, as_of, present_since):
        days = max((as_of - since).days, 0)
        if rule is LeadRule.REMOVAL_ORDER_NOT_DEPARTED:
            facts["final_order"], facts["final_order_days"] = True, days
        elif rule is LeadRule.DEPARTURE_DEADLINE_PASSED:
            facts["departure_deadline_passed"], facts["days_past_deadline"] = True, days
        elif rule is LeadRule.STAY_ENDED_NO_EXIT:
            facts["overstay_days"] = days
    outcomes = [e.stated.upper() for e in status.evidence if e.source == "court"]
    facts["court_conviction"] = any(w in o for o in outcomes for w in CONVICTION_WORDS)
    facts["missed_hearing"] = any(w in o for o in outcomes for w in MISSED_HEARING_WORDS)
    facts["continued_hearings"] = sum("CONTINUED" in o for o in outcomes)
    names = {" ".join(n.upper().split()) for n in family_names if n and n.strip()}
    facts["family_name_variants"] = max(len(names) - 1, 0)
    return facts


def facts_of_persons(
    session: Session, person_ids: Sequence[str], as_of: dt.date
) -> dict[str, dict[str, int | bool]]:
    """person -> facts, read from the store for these persons (unaudited: callers audit)."""
    wanted = sorted(set(person_ids))
    found: dict[str, dict[str, int | bool]] = {}
    # A chunk at a time: a policy's impact asks for every person, and one IN list of a
    # hundred thousand ids is more bound values than PostgreSQL takes in a statement.
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        statuses = status_by_person(load_status_records(session, chunk), as_of)
        present = in_country_since(session, chunk)
        families: dict[str, list[str | None]] = {}
        for identity in record_identities(session, chunk):
            families.setdefault(identity.person_id, []).append(identity.family)
        for person_id in chunk:
            status = statuses.get(person_id) or PersonStatus(as_of, [], [])
            found[person_id] = person_facts(
                status, as_of, present.get(person_id), families.get(person_id, ())
            )
    return found


def facts_of_leads(session: Session, leads: Sequence[Lead], as_of: dt.date) -> dict[str, Facts]:
    """lead id -> the facts of its person."""
    by_person = facts_of_persons(session, [lead.person_id for lead in leads], as_of)
    return {lead.lead_id: by_person[lead.person_id] for lead in leads}
