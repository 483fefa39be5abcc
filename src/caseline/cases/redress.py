"""Redress in the wrongful-action simulation: the persons a case wrongly targets dispute it,
and a legal reviewer decides each dispute by the truth, before the case's action or not.

After the cases are opened (day 0, the identity confirmed then) and before their actions
(day ``days_to_action``), each person a case wrongly targets, judged by the truth (the
wrong person, a person who may lawfully be here, or an address they do not live at), files
with probability ``rate``; their representative files on a day drawn from an exponential
distribution (mean ``mean_days_to_file``), and a reviewer decides ``days_to_decide`` days
later. Each draw is a hash of the seed and the person, so a run is the same every time and
a person's fate does not depend on the others. What they file, of the kind that fits:

- the wrong person: ``not_me`` on each record the case rests on (the records it cites and
  those its grounds rest on) that the person holds;
- a protected person: ``status``, with a document showing the status the truth gives them;
- a wrong address: ``not_my_address`` on one of their records at the address for each
  form of the address they hold.

A claim is upheld when the truth bears it out (the record is another's; the status is the
true one; the address is not the person's current one) and rejected otherwise. Filing,
review and decision go through :mod:`caseline.cases.disputes`, so an upheld dispute's
effects (a cannot-link, an address no longer theirs, a status record) and an open one's
(its record out of the address scores) are what the server's guards then see, and the
identity guards ask for the identity to be confirmed again. It all happens inside a
savepoint rolled back at the end: the simulation still writes nothing but its event.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.cases.disputes import decide_dispute, file_dispute, start_review
from caseline.cases.ground_truth import GroundTruth
from caseline.cases.grounds import assess_grounds
from caseline.cases.simulated_facts import PersonFacts
from caseline.db.models import PersonRecord, SourceRecord
from caseline.errors import InputError
from caseline.oversight import Actor, Role
from caseline.profiles.address_evidence import address_key
from caseline.profiles.disputed import DisputeKind, DisputeState
from caseline.standardise.status import StatusTerm

if TYPE_CHECKING:
    from caseline.cases.simulation import SimulationFigures, WorkedLead

REPRESENTATIVE = Actor("simulated-representative", Role.LEGAL)  # files for the person
REVIEWER = Actor("simulated-reviewer", Role.LEGAL)  # another legal reviewer decides
# The status term a document shows for each status the truth gives a protected person.
STATUS_TERMS = {
    "citizen_birth": StatusTerm.CITIZEN,
    "citizen_naturalised": StatusTerm.NATURALISED_CITIZEN,
    "permanent_resident": StatusTerm.PERMANENT_RESIDENT,
    "visa_valid": StatusTerm.VALID_VISA,
    "pending_asylum": StatusTerm.PENDING_APPLICATION,
    "pending_adjustment": StatusTerm.PENDING_APPLICATION,
    "temporary_protected": StatusTerm.PROTECTED_STATUS,
}
GROUNDS = {
    DisputeKind.NOT_ME: "the person says this record is another person's",
    DisputeKind.STATUS: "the person says their status is not what the records show",
    DisputeKind.NOT_MY_ADDRESS: "the person says they do not live at this address",
}
# Why a wrongful action was taken anyway: what its person's redress came to by the action.
_WHY = (
    "nothing_to_dispute", "did_not_file", "filed_after_action", "open_at_action",
    "decided_before_action",
)  # fmt: skip
COUNTS = (
    "persons_wrongly_targeted", "persons_filing", "persons_nothing_to_dispute",
    "disputes_filed", "decided_before_action", "open_at_action", "filed_after_action",
    "upheld", "rejected", "wrongful_leads", "wrongful_actions_without_redress",
    "corrected_before_action", "actioned_anyway", *(f"anyway_{why}" for why in _WHY),
    "newly_wrongful", "reconfirmed",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RedressSettings:
    rate: float = 0.6  # the share of wrongly targeted persons who file
    seed: int = 0
    days_to_action: int = 30  # from a case's opening to its action
    mean_days_to_file: float = 14.0  # from a case's opening to the person's filing
    days_to_decide: int = 14  # from filing to the reviewer's decision

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise InputError(f"a share from 0 to 1, not {self.rate}", where="redress_rate")
        if self.days_to_action < 0 or self.days_to_decide < 0 or self.mean_days_to_file <= 0:
            raise InputError("days are not negative, and the mean days to file is above 0",
                             where="redress_days")  # fmt: skip

    def as_dict(self) -> dict[str, object]:
        return {
            "rate": self.rate,
            "seed": self.seed,
            "days_to_action": self.days_to_action,
            "mean_days_to_file": self.mean_days_to_file,
            "days_to_decide": self.days_to_decide,
        }


@dataclass(frozen=True, slots=True)
class Claim:
    kind: DisputeKind
    record_id: str
    true: bool  # what the reviewer finds against the truth
    status: str | None = None  # a status claim's term

    @property
    def document(self) -> str | None:
        return f"simulated document showing {self.status}" if self.status else None


@dataclass(frozen=True, slots=True)
class PersonRedress:
    """What one wrongly targeted person files, and on which days after their case opened."""

    person_id: str
    claims: tuple[Claim, ...]
    filed_on: float
    decided_on: float


@dataclass(frozen=True, slots=True)
class RedressFigures:
    settings: RedressSettings
    counts: dict[str, int]
    by_kind: dict[str, dict[str, int]]  # kind -> filed, upheld, rejected
    guards_on: SimulationFigures  # the guards-on counts with redress

    def as_dict(self) -> dict[str, object]:
        return {
            "settings": self.settings.as_dict(),
            **self.counts,
            "by_kind": self.by_kind,
            "guards_on": self.guards_on.as_dict(),
        }


Rewalk = Callable[["WorkedLead", tuple[str, ...]], "WorkedLead"]


def redress_cases(
    session: Session,
    worked: list[WorkedLead],
    facts: Mapping[str, PersonFacts],
    truth: GroundTruth,
    settings: RedressSettings,
    rewalk: Rewalk,
) -> tuple[list[WorkedLead], dict[str, int], dict[str, dict[str, int]]]:
    """File and decide the disputes inside a savepoint, work again (``rewalk``, given the
    changes the disputes made to the person) each lead whose person filed before its
    action, and roll the savepoint back. The leads with redress and the counts."""
    claims = claims_of(session, worked, facts, truth)
    plans = plan_redress(claims, settings)
    action_day = settings.days_to_action
    counts = dict.fromkeys(COUNTS, 0)
    filed: dict[tuple[str, Claim], int] = {}
    decided: dict[tuple[str, Claim], DisputeState] = {}
    changes: dict[str, list[str]] = defaultdict(list)
    savepoint = session.begin_nested()
    try:
        for plan in (p for p in plans if p.filed_on <= action_day):
            in_time = plan.decided_on <= action_day
            for claim in plan.claims:
                key = (plan.person_id, claim)
                filed[key] = _file(session, plan.person_id, claim)
                changes[plan.person_id].append(_described(filed[key], claim))
                counts["decided_before_action" if in_time else "open_at_action"] += 1
                if in_time:
                    decided[key] = _decide(session, filed[key], claim)
                    changes[plan.person_id].append(f"dispute {filed[key]} {decided[key].value}")
        redressed = [
            rewalk(w, tuple(changes[w.chosen])) if w.chosen in changes else w for w in worked
        ]
        for plan in plans:  # what is filed or decided after the actions, for the counts
            for claim in plan.claims:
                key = (plan.person_id, claim)
                if key not in filed:
                    filed[key] = _file(session, plan.person_id, claim)
                    counts["filed_after_action"] += 1
                if key not in decided:
                    decided[key] = _decide(session, filed[key], claim)
    finally:
        savepoint.rollback()
    by_kind: dict[str, dict[str, int]] = {}
    for (_, claim), state in sorted(decided.items(), key=lambda item: filed[item[0]]):
        kind = by_kind.setdefault(claim.kind.value, {"filed": 0, "upheld": 0, "rejected": 0})
        kind["filed"] += 1
        kind[state.value] += 1
    counts["disputes_filed"] = len(filed)
    counts["upheld"] = sum(k["upheld"] for k in by_kind.values())
    counts["rejected"] = sum(k["rejected"] for k in by_kind.values())
    wronged = {w.chosen for w in worked if w.chosen and w.wrongful}
    counts["persons_wrongly_targeted"] = len(wronged)
    counts["persons_filing"] = len(plans)
    counts["persons_nothing_to_dispute"] = len(wronged - set(claims))
    by_person = {p.person_id: p for p in plans}
    why = {person: _why(person, claims, by_person.get(person), action_day) for person in wronged}
    counts |= _outcomes(worked, redressed, why)
    return redressed, counts, dict(sorted(by_kind.items()))


def plan_redress(
    claims: Mapping[str, list[Claim]], settings: RedressSettings
) -> list[PersonRedress]:
    """The persons who file (drawn with the rate), what, and when; by person id."""
    plans = []
    for person_id in sorted(claims):
        if _draw(settings.seed, person_id, "files") >= settings.rate:
            continue
        day = _draw(settings.seed, person_id, "day")
        filed_on = -settings.mean_days_to_file * math.log(1.0 - day)
        plans.append(
            PersonRedress(person_id, tuple(claims[person_id]), filed_on,
                          filed_on + settings.days_to_decide)
        )  # fmt: skip
    return plans


def claims_of(
    session: Session,
    worked: Iterable[WorkedLead],
    facts: Mapping[str, PersonFacts],
    truth: GroundTruth,
) -> dict[str, list[Claim]]:
    """Per wrongly targeted person with something to dispute, the claims of the right kind
    over all the leads that target them."""
    wronged = [w for w in worked if w.wrongful and w.chosen in facts and w.chosen_entity]
    addresses = _address_records(session, wronged)
    claims: dict[str, dict[tuple[DisputeKind, str], Claim]] = defaultdict(dict)
    for w in wronged:
        assert w.chosen is not None
        own = claims[w.chosen]
        for claim in _claims(w, facts[w.chosen], truth, addresses.get(w.chosen, [])):
            if claim.kind is DisputeKind.STATUS and any(k is claim.kind for k, _ in own):
                continue  # one status claim per person
            own.setdefault((claim.kind, claim.record_id), claim)
    return {person: list(found.values()) for person, found in claims.items() if found}


def _claims(
    w: WorkedLead, facts: PersonFacts, truth: GroundTruth, at: list[tuple[str, str]]
) -> list[Claim]:
    entity = w.chosen_entity
    held = frozenset(facts.records)
    grounds = assess_grounds(facts.status, w.lead.records, held, facts.births,
                             facts.in_country_since)  # fmt: skip
    rests_on = [r for r in dict.fromkeys((*w.lead.records, *grounds.records)) if r in held]
    found: list[Claim] = []
    if not w.right_person:
        for record_id in rests_on:
            owner = truth.entity_of.get(record_id)
            found.append(
                Claim(DisputeKind.NOT_ME, record_id, owner is not None and owner != entity)
            )
    true_person = truth.persons.get(entity or "")
    term = STATUS_TERMS.get(true_person.status) if true_person else None
    if w.protected and term is not None and (rests_on or facts.records):
        found.append(Claim(DisputeKind.STATUS, (rests_on or facts.records)[0], True, term.value))
    if w.wrong_address and w.address:
        variants = facts.variants.get(w.address, frozenset())
        current = true_person.address_key if true_person else None
        first_per_key = {key: record_id for record_id, key in reversed(at)}
        for key, record_id in sorted(first_per_key.items()):
            if key in variants:
                found.append(Claim(DisputeKind.NOT_MY_ADDRESS, record_id, key != current))
    return found


def _address_records(
    session: Session, worked: list[WorkedLead]
) -> dict[str, list[tuple[str, str]]]:
    """Per wrongly targeted person, each of their records with an address and its key."""
    persons = sorted({w.chosen for w in worked if w.chosen and w.wrong_address and w.address})
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for start in range(0, len(persons), 5000):
        rows = session.execute(
            select(PersonRecord.person_id, SourceRecord.record_id, SourceRecord.street_number,
                   SourceRecord.street, SourceRecord.unit, SourceRecord.postcode)
            .join(SourceRecord, SourceRecord.record_id == PersonRecord.record_id)
            .where(PersonRecord.person_id.in_(persons[start : start + 5000]),
                   SourceRecord.street.is_not(None))
            .order_by(SourceRecord.record_id)
        )  # fmt: skip
        for person_id, record_id, number, street, unit, postcode in rows:
            found[person_id].append((record_id, address_key(number, street, unit, postcode)))
    return found


def _file(session: Session, person_id: str, claim: Claim) -> int:
    return file_dispute(
        session, REPRESENTATIVE, person_id=person_id, record_id=claim.record_id,
        kind=claim.kind, grounds=GROUNDS[claim.kind], document=claim.document,
        value=claim.status,
    ).id  # fmt: skip


def _decide(session: Session, dispute_id: int, claim: Claim) -> DisputeState:
    start_review(session, REVIEWER, dispute_id)
    why = "the records and the document bear the claim out" if claim.true else (
        "the record is the person's, as the reviewer found")  # fmt: skip
    return decide_dispute(session, REVIEWER, dispute_id, uphold=claim.true, reason=why).state


def _described(dispute_id: int, claim: Claim) -> str:
    return f"dispute {dispute_id} ({claim.kind.value}) filed by {REPRESENTATIVE.username} " \
        f"on record {claim.record_id}"  # fmt: skip


def _draw(seed: int, person_id: str, what: str) -> float:
    """A number in [0, 1) fixed by the seed, the person and what it draws."""
    digest = hashlib.sha256(f"{seed}\x1f{person_id}\x1f{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _why(
    person_id: str, claims: Mapping[str, list[Claim]], plan: PersonRedress | None, day: int
) -> str:
    if person_id not in claims:
        return "nothing_to_dispute"
    if plan is None:
        return "did_not_file"
    if plan.filed_on > day:
        return "filed_after_action"
    return "open_at_action" if plan.decided_on > day else "decided_before_action"


def _outcomes(
    before: list[WorkedLead], after: list[WorkedLead], why: Mapping[str, str]
) -> dict[str, int]:
    """Per lead, the wrongful actions without redress and with it (guards on); those taken
    anyway by what their person's redress came to."""
    counts = dict.fromkeys(
        ("wrongful_leads", "wrongful_actions_without_redress", "corrected_before_action",
         "actioned_anyway", *(f"anyway_{w}" for w in _WHY), "newly_wrongful", "reconfirmed"), 0
    )  # fmt: skip
    for was, now in zip(before, after, strict=True):
        if was.wrongful_action and now.wrongful_action:
            counts[f"anyway_{why[was.chosen or '']}"] += 1
        counts["wrongful_leads"] += bool(was.chosen) and was.wrongful
        counts["wrongful_actions_without_redress"] += was.wrongful_action
        counts["corrected_before_action"] += was.wrongful_action and not now.wrongful_action
        counts["actioned_anyway"] += was.wrongful_action and now.wrongful_action
        counts["newly_wrongful"] += now.wrongful_action and not was.wrongful_action
        counts["reconfirmed"] += now.on.reconfirmed
    return counts
