"""Where cases come from: rules over the resolved data, each lead naming what it found and
the records behind it.

A lead is computed, not stored: the same data gives the same leads, each with a stable id
(rule, person and a fingerprint of its records). Opening a case keeps the lead as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.cases.lead_cache import PAGE_SIZE, Page, computed_lists, page_of
from caseline.cases.priority_ranking import Priority
from caseline.cases.workflow import OUTCOMES
from caseline.db.models import Case, Person
from caseline.errors import InputError, NotFoundError
from caseline.oversight import Actor, LeadsListed, permit
from caseline.profiles import (
    PersonStatus,
    in_country_since,
    load_status_records,
    status_by_person,
    visa_admitted_on,
    visa_ends,
)
from caseline.standardise.status import StatusTerm

# Without a visa on record, an entry authorises a stay of this long (a visitor's six months).
DEFAULT_STAY_DAYS = 182
# A record at an address this long before the last entry shows the person lived here before
# it: the entry was a return, from a trip whose exit went unrecorded, not an arrival.
RETURN_MARGIN_DAYS = 90


class LeadRule(StrEnum):
    REMOVAL_ORDER_NOT_DEPARTED = "removal_order_not_departed"
    STAY_ENDED_NO_EXIT = "stay_ended_no_exit"
    DEPARTURE_DEADLINE_PASSED = "departure_deadline_passed"
    ANALYST = "analyst"  # opened by an analyst from a profile, with a reason


RULE_LABELS = {
    LeadRule.REMOVAL_ORDER_NOT_DEPARTED: "a final removal order with no departure on record",
    LeadRule.STAY_ENDED_NO_EXIT: "an authorised stay ended with no exit or later status",
    LeadRule.DEPARTURE_DEADLINE_PASSED: "a voluntary-departure deadline passed with no exit",
    LeadRule.ANALYST: "opened by an analyst from a profile",
}


@dataclass(frozen=True, slots=True)
class Lead:
    lead_id: str
    rule: LeadRule
    person_id: str
    display_name: str
    found: str  # what the rule found, in a sentence
    since: dt.date  # when the condition began: the order, the end of the stay, the deadline
    records: tuple[str, ...]  # the records it rests on
    open_case: int | None = None  # a case already open on the person
    priority: Priority | None = None  # where the policy in force placed it, and why

    def as_origin(self) -> dict[str, object]:
        """What a case opened from this lead keeps of it (with the policy it was ranked under)."""
        kept: dict[str, object] = {
            "lead_id": self.lead_id,
            "rule": self.rule.value,
            "found": self.found,
            "since": self.since.isoformat(),
            "records": list(self.records),
        }
        if self.priority is not None:
            kept["priority"] = self.priority.as_dict()
        return kept


def list_leads(
    session: Session,
    *,
    actor: Actor,
    as_of: dt.date,
    rules: Sequence[LeadRule] | None = None,
    limit: int | None = None,
) -> list[Lead]:
    """Every lead the rules find on ``as_of``, in the order of the priority policy in force
    (audited with the persons listed)."""
    from caseline.cases.priority_order import rank_leads  # ranks leads: imports this module

    allowed = permit(actor, LeadsListed)
    found = rank_leads(session, find_leads(session, as_of, rules=rules), as_of)
    shown = found[:limit] if limit is not None else found
    allowed.record(
        session,
        LeadsListed(
            rules=tuple(sorted({lead.rule.value for lead in shown})),
            persons=tuple(sorted({lead.person_id for lead in shown})),
        ),
    )
    return shown


def page_of_leads(
    session: Session,
    *,
    actor: Actor,
    as_of: dt.date,
    rules: Sequence[LeadRule] | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> Page[Lead]:
    """One page of the leads on ``as_of`` in the order of the priority policy in force, with
    how many there are (audited with the persons on the page). The whole list is computed
    once per state of the data it reads and policy version (see
    :mod:`caseline.cases.lead_cache`)."""
    from caseline.cases.priority_order import rank_leads  # ranks leads: imports this module
    from caseline.cases.priority_versions import policy_in_force

    allowed = permit(actor, LeadsListed)
    wanted = set(rules) if rules else None
    force = policy_in_force(session, as_of)
    every = computed_lists.get(
        session,
        "leads",
        as_of,
        (force.version, force.policy.sha256),
        lambda: rank_leads(session, find_leads(session, as_of, open_cases={}), as_of, force),
        reads_cases=False,
    )
    found = [lead for lead in every if wanted is None or lead.rule in wanted]
    shown = page_of(found, offset, limit)
    open_cases = _open_cases(session)  # cases change often: read them fresh, not kept
    page = replace(
        shown, items=[replace(x, open_case=open_cases.get(x.person_id)) for x in shown.items]
    )
    allowed.record(
        session,
        LeadsListed(
            rules=tuple(sorted({lead.rule.value for lead in page.items})),
            persons=tuple(sorted({lead.person_id for lead in page.items})),
        ),
    )
    return page


def find_leads(
    session: Session,
    as_of: dt.date,
    *,
    rules: Sequence[LeadRule] | None = None,
    person_ids: Sequence[str] | None = None,
    open_cases: Mapping[str, int] | None = None,
) -> list[Lead]:
    """The leads on ``as_of`` (unaudited: for the entry points that audit); ``open_cases``
    (person to case) instead of the cases open now."""
    wanted = set(rules or [r for r in LeadRule if r is not LeadRule.ANALYST])
    statuses = status_by_person(load_status_records(session, person_ids), as_of)
    present = in_country_since(session, person_ids)
    names = _names(session, list(statuses))
    open_cases = _open_cases(session) if open_cases is None else open_cases
    leads: list[Lead] = []
    for person_id, status in statuses.items():
        for rule, found, since, records in findings(status, as_of, present.get(person_id)):
            if rule in wanted:
                leads.append(
                    Lead(
                        _lead_id(rule, person_id, records),
                        rule,
                        person_id,
                        names.get(person_id, "(no name)"),
                        found,
                        since,
                        records,
                        open_cases.get(person_id),
                    )
                )
    return sorted(leads, key=lambda lead: (lead.since, lead.person_id, lead.rule))


def lead_by_id(session: Session, lead_id: str, as_of: dt.date) -> Lead:
    """The lead with this id, found again on ``as_of`` and placed by the policy in force;
    NotFoundError if the data no longer gives it (a departure recorded since, say)."""
    from caseline.cases.priority_order import rank_leads  # ranks leads: imports this module

    _, _, person_id = lead_id.partition(":")
    person_id = person_id.rpartition(":")[0]
    if not person_id:
        raise InputError(f"{lead_id!r} is not a lead id", where="lead_id")
    for lead in rank_leads(session, find_leads(session, as_of, person_ids=[person_id]), as_of):
        if lead.lead_id == lead_id:
            return lead
    raise NotFoundError(f"no lead {lead_id!r} on {as_of}: the records no longer give it")


def findings(
    status: PersonStatus, as_of: dt.date, in_country_since: dt.date | None = None
) -> Iterable[tuple[LeadRule, str, dt.date, tuple[str, ...]]]:
    """What each rule finds in one person's status evidence on ``as_of`` (and the date of
    their first record at an address here): the rule, what it found in a sentence, since
    when, and the records it rests on."""
    exits = [b for b in status.border if b.direction == "EXIT" and b.on is not None]
    orders = [e for e in status.evidence if e.term is StatusTerm.REMOVAL_ORDER and e.on]
    if orders:
        order = orders[-1]
        assert order.on is not None
        if not any(b.on is not None and b.on >= order.on for b in exits):
            yield (
                LeadRule.REMOVAL_ORDER_NOT_DEPARTED,
                f"final removal order on {order.on} ({order.stated}), no exit since",
                order.on,
                (order.record_id,),
            )
    departures = [
        e for e in status.evidence if e.term is StatusTerm.VOLUNTARY_DEPARTURE and e.deadline
    ]
    if departures:
        granted = departures[-1]
        assert granted.deadline is not None
        assert granted.on is not None
        if granted.deadline < as_of and not any(
            b.on is not None and b.on >= granted.on for b in exits
        ):
            yield (
                LeadRule.DEPARTURE_DEADLINE_PASSED,
                f"voluntary departure granted on {granted.on}, deadline {granted.deadline} "
                "passed with no exit on record",
                granted.deadline,
                (granted.record_id,),
            )
    overstay = _stay_ended(status, as_of, in_country_since)
    if overstay is not None:
        yield overstay


def _stay_ended(
    status: PersonStatus, as_of: dt.date, in_country_since: dt.date | None
) -> tuple[LeadRule, str, dt.date, tuple[str, ...]] | None:
    dated = [b for b in status.border if b.on is not None]
    if not dated or dated[-1].direction != "ENTRY":
        return None
    if any(b.direction == "EXIT" for b in dated[:-1]):
        return None  # home from a trip: the stay began before the records, not at this entry
    entry = dated[-1]
    assert entry.on is not None
    if (entry.nationality or "").upper() in ("UNITED STATES", "USA", "US"):
        return None  # a citizen coming home
    if in_country_since is not None and in_country_since < entry.on - dt.timedelta(
        days=RETURN_MARGIN_DAYS
    ):
        return None  # lived here before it: a return from a trip whose exit is not on record
    if any(e.on is not None and e.on > entry.on for e in status.evidence):
        return None  # a later status record: the person is known to the system since
    visas = [
        e for e in status.evidence
        if e.stated.startswith("VISA_ISSUED") and e.on is not None and e.on <= entry.on
    ]  # fmt: skip
    ends = entry.on + dt.timedelta(days=DEFAULT_STAY_DAYS)
    if visas:
        issued = visas[-1].on
        assert issued is not None
        ends = max(ends, visa_ends(visa_admitted_on(issued, status.border)))
    if ends >= as_of:
        return None
    records = (entry.record_id, *(v.record_id for v in visas[-1:]))
    found = f"entered on {entry.on} at {entry.port or 'an unknown port'}; the stay ended {ends}"
    return (LeadRule.STAY_ENDED_NO_EXIT, f"{found}, with no exit or later status", ends, records)


def _lead_id(rule: LeadRule, person_id: str, records: tuple[str, ...]) -> str:
    fingerprint = hashlib.sha256("|".join(records).encode()).hexdigest()[:8]
    return f"{rule.value}:{person_id}:{fingerprint}"


def _names(session: Session, person_ids: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for start in range(0, len(person_ids), 5000):
        chunk = person_ids[start : start + 5000]
        names.update(
            session.execute(
                select(Person.person_id, Person.display_name).where(Person.person_id.in_(chunk))
            ).all()
        )
    return names


def _open_cases(session: Session) -> dict[str, int]:
    done = [state.value for state in OUTCOMES]
    return dict(
        session.execute(
            select(Case.person_id, Case.id).where(Case.state.not_in(done)).order_by(Case.id)
        ).all()
    )
