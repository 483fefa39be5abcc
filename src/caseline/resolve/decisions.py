"""Reviewers' decisions that two records are, or are not, one person.

Decisions are facts about the world that no score may overrule: every later resolution run
joins the records decided together and keeps apart those decided apart, cutting a cluster
where it must. They are appended, never edited; the latest decision on a pair wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import LinkDecision, SourceRecord
from caseline.errors import InputError
from caseline.oversight import Actor, LinkDecided, permit
from caseline.resolve.linking import Decisions

MIN_REASON_LENGTH = 5


class Decision(StrEnum):
    SAME_PERSON = "same_person"
    DIFFERENT_PERSONS = "different_persons"


@dataclass(frozen=True, slots=True)
class DecisionReceipt:
    id: int
    left_record_id: str
    right_record_id: str
    decision: Decision


def decide_pair(
    session: Session, actor: Actor, left: str, right: str, decision: Decision, reason: str
) -> DecisionReceipt:
    """Record a reviewer's decision on two records (audited in the caller's transaction)."""
    allowed = permit(actor, LinkDecided)
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise InputError(f"a reason of at least {MIN_REASON_LENGTH} characters", where="reason")
    if left == right:
        raise InputError("a decision needs two different records", where="right_record_id")
    found = set(session.scalars(select(SourceRecord.record_id).where(
        SourceRecord.record_id.in_([left, right])
    )))  # fmt: skip
    for name, record_id in (("left_record_id", left), ("right_record_id", right)):
        if record_id not in found:
            raise InputError(f"no record {record_id!r}", where=name)
    left, right = sorted((left, right))
    row = LinkDecision(
        left_record_id=left,
        right_record_id=right,
        decision=decision.value,
        reason=reason,
        decided_by=actor.username,
    )
    session.add(row)
    session.flush()
    allowed.record(
        session,
        LinkDecided(
            decision_id=row.id, left=left, right=right, decision=decision.value, reason=reason
        ),
    )
    return DecisionReceipt(row.id, left, right, decision)


def load_decisions(session: Session) -> Decisions:
    """The standing decisions: the latest one on each pair."""
    latest: dict[tuple[str, str], str] = {}
    rows = session.execute(
        select(LinkDecision.left_record_id, LinkDecision.right_record_id, LinkDecision.decision)
        .order_by(LinkDecision.id)
    )  # fmt: skip
    for left, right, decision in rows:
        latest[(left, right)] = decision
    return Decisions(
        together=tuple(p for p, d in latest.items() if d == Decision.SAME_PERSON),
        apart=tuple(p for p, d in latest.items() if d == Decision.DIFFERENT_PERSONS),
    )
