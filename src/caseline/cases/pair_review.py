"""The pair review queue: the pairs the latest resolution run was least sure of, decided by
reviewers one after another, and explanations of a pair read for the reader's work.

Resolution stores the queue (``resolve.review_pairs``); the latest full run's is current.
Here reviewers list it, resume at the
first undecided pair and decide each: same person or different persons (a link decision
every later run obeys, through ``resolve.decide_pair``) or unsure (recorded on the queue
item only). A pair counts as decided once the queue records an outcome for it or a standing
link decision covers it (made elsewhere, or in an earlier run's queue).

A pair's values are a read of the persons holding its records, so an explanation needs a
purpose bound to work on one of them (:func:`explain_for_work`); ``pair:ID`` names a queue
item, and binds to the persons holding its two records (``purposes._bind_work``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session

from caseline.cases.purposes import bind_purpose
from caseline.db.models import LinkDecision, PersonRecord, ReviewPair
from caseline.errors import AccessDenied, InputError, NotFoundError, StateError
from caseline.oversight import Actor, PairExplained, Permission, permit
from caseline.oversight.events import Event
from caseline.resolve import Decision, PairExplanation, decide_pair, explain_pair

MIN_REASON_WORDS = 3
PAGE_LIMIT = 200


class ReviewOutcome(StrEnum):
    SAME_PERSON = "same_person"
    DIFFERENT_PERSONS = "different_persons"
    UNSURE = "unsure"


class QueueFilter(StrEnum):
    UNDECIDED = "undecided"
    DECIDED = "decided"
    ALL = "all"


@dataclass(frozen=True, kw_only=True)
class ReviewPairsListed(Event):
    action = "list_review_pairs"
    object_type = "review_pair"
    permission = Permission.DECIDE_LINKS
    summary = "the pair review queue listed: which pairs (ids, records and persons) were shown"

    resolution_run: int
    shown: str
    pairs: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class PairReviewed(Event):
    action = "review_pair"
    object_type = "review_pair"
    permission = Permission.DECIDE_LINKS
    object_field = "pair_id"
    summary = "a queue pair decided (same person, different persons or unsure), with the reason"

    pair_id: int
    left: str
    right: str
    decision: str
    reason: str
    link_decision: int | None


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One pair of the queue and, once decided, who decided what, when and why."""

    id: int
    resolution_run_id: int
    rank: int
    left_record_id: str
    right_record_id: str
    match_probability: float
    why: str
    left_person_id: str | None
    right_person_id: str | None
    decision: str | None = None
    reason: str | None = None
    decided_by: str | None = None
    decided_at: dt.datetime | None = None

    @property
    def decided(self) -> bool:
        return self.decision is not None

    @property
    def purpose(self) -> str:
        """The purpose that reads this pair: the queue item itself."""
        return f"pair:{self.id}"


@dataclass(frozen=True, slots=True)
class ReviewQueue:
    resolution_run_id: int | None
    items: tuple[ReviewItem, ...]
    total: int  # of the items the filter selects
    undecided: int
    offset: int
    limit: int


def list_review_pairs(
    session: Session,
    actor: Actor,
    *,
    shown: QueueFilter = QueueFilter.UNDECIDED,
    offset: int = 0,
    limit: int = 50,
) -> ReviewQueue:
    """A page of the latest run's queue, most uncertain first (audited with what it showed)."""
    allowed = permit(actor, ReviewPairsListed)
    if offset < 0:
        raise InputError("an offset of 0 or more", where="offset")
    if not 1 <= limit <= PAGE_LIMIT:
        raise InputError(f"a limit from 1 to {PAGE_LIMIT}", where="limit")
    run_id = _latest_run(session)
    if run_id is None:
        return ReviewQueue(None, (), 0, 0, offset, limit)
    in_run = ReviewPair.resolution_run_id == run_id
    wanted = {
        QueueFilter.UNDECIDED: in_run & ~_decided(),
        QueueFilter.DECIDED: in_run & _decided(),
        QueueFilter.ALL: in_run,
    }[shown]
    total = session.scalar(select(func.count()).select_from(ReviewPair).where(wanted)) or 0
    undecided = session.scalar(
        select(func.count()).select_from(ReviewPair).where(in_run & ~_decided())
    )
    rows = session.scalars(
        select(ReviewPair).where(wanted).order_by(ReviewPair.rank).offset(offset).limit(limit)
    ).all()
    items = tuple(_items(session, rows))
    allowed.record(
        session,
        ReviewPairsListed(
            resolution_run=run_id, shown=shown.value, pairs=tuple(i.id for i in items)
        ),
    )
    return ReviewQueue(run_id, items, total, undecided or 0, offset, limit)


def next_review_pair(session: Session, actor: Actor) -> ReviewItem | None:
    """Where a reviewer resumes: the latest run's first undecided pair (None: all decided)."""
    found = list_review_pairs(session, actor, shown=QueueFilter.UNDECIDED, limit=1)
    return found.items[0] if found.items else None


def read_review_pair(session: Session, actor: Actor, pair_id: int) -> ReviewItem:
    """One queue pair with its outcome (audited as a listing of that pair)."""
    allowed = permit(actor, ReviewPairsListed)
    row = session.get(ReviewPair, pair_id)
    if row is None:
        raise NotFoundError(f"no review pair {pair_id}")
    (item,) = _items(session, [row])
    allowed.record(
        session,
        ReviewPairsListed(resolution_run=row.resolution_run_id, shown="one", pairs=(pair_id,)),
    )
    return item


def decide_review_pair(
    session: Session, actor: Actor, pair_id: int, outcome: ReviewOutcome | str, reason: str
) -> ReviewItem:
    """Decide a queue pair (audited). Same or different becomes a link decision that every
    later run obeys; unsure stays on the queue item. Refuses a pair already decided and a
    reason of fewer than three words."""
    allowed = permit(actor, PairReviewed)
    try:
        chosen = ReviewOutcome(outcome)
    except ValueError:
        choices = ", ".join(o.value for o in ReviewOutcome)
        raise InputError(
            f"{outcome!r} is not a decision: one of {choices}", where="decision"
        ) from None
    reason = " ".join(reason.split())
    if len(reason.split()) < MIN_REASON_WORDS:
        raise InputError(
            f"say why in at least {MIN_REASON_WORDS} words (it is recorded with the decision)",
            where="reason",
        )
    row = session.get(ReviewPair, pair_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no review pair {pair_id}")
    (item,) = _items(session, [row])
    if item.decided:
        raise StateError(
            f"pair {pair_id} was decided ({item.decision}) by {item.decided_by}; a new decision "
            "on it goes through /api/pairs/decisions"
        )
    link_decision = None
    if chosen is not ReviewOutcome.UNSURE:
        receipt = decide_pair(
            session, actor, row.left_record_id, row.right_record_id, Decision(chosen.value), reason
        )
        link_decision = receipt.id
    row.decision = chosen.value
    row.reason = reason
    row.decided_by = actor.username
    row.decided_at = dt.datetime.now(dt.UTC)
    session.flush()
    allowed.record(
        session,
        PairReviewed(
            pair_id=row.id,
            left=row.left_record_id,
            right=row.right_record_id,
            decision=chosen.value,
            reason=reason,
            link_decision=link_decision,
        ),
    )
    (decided,) = _items(session, [row])
    return decided


def explain_for_work(
    session: Session,
    actor: Actor,
    left: str,
    right: str,
    purpose: str | None,
    as_of: dt.date | None = None,
) -> PairExplanation:
    """Explain two records for the work the purpose names: it must bind to the person holding
    the left or the right record (a case, lead, dispute, queue pair or countersigned reason);
    ``pair:ID`` reads that pair's two records and no other. AccessDenied otherwise."""
    permit(actor, PairExplained, purpose)
    assert purpose is not None  # permit refuses a missing purpose
    stated = purpose.strip()
    if stated.startswith("pair:"):
        _require_same_pair(session, stated, left, right)
    rows = session.execute(
        select(PersonRecord.record_id, PersonRecord.person_id).where(
            PersonRecord.record_id.in_([left, right])
        )
    )
    holders = {record_id: person_id for record_id, person_id in rows}
    persons = [p for p in dict.fromkeys((holders.get(left), holders.get(right))) if p]
    if not persons:
        raise InputError(
            f"record {left!r} is in no person yet, nor is {right!r} (run `caseline resolve`): "
            "an explanation is read for work on the person holding one of them",
            where="left",
        )
    refusal: AccessDenied | None = None
    for person_id in persons:
        try:
            bound = bind_purpose(
                session, person_id, actor=actor, purpose=stated, as_of=as_of or dt.date.today()
            )
        except AccessDenied as exc:
            refusal = refusal or exc
            continue
        return explain_pair(session, actor, left, right, bound.text, case_id=bound.case_id)
    assert refusal is not None
    raise refusal


def _require_same_pair(session: Session, stated: str, left: str, right: str) -> None:
    ref = stated.partition(":")[2]
    if not ref.isdigit():
        raise AccessDenied(f"{stated!r} names no review pair: pair:ID, with its number")
    row = session.get(ReviewPair, int(ref))
    if row is None:
        raise NotFoundError(f"no review pair {ref}")
    if sorted((left, right)) != [row.left_record_id, row.right_record_id]:
        raise AccessDenied(f"review pair {ref} is not records {left} and {right}")


def _latest_run(session: Session) -> int | None:
    """The run whose queue is current: the latest that stored one (an incremental run, which
    places new records with the full run's model, stores none and leaves it current)."""
    return session.scalar(select(func.max(ReviewPair.resolution_run_id)))


def _decided() -> ColumnElement[bool]:
    """Whether the queue recorded an outcome, or a link decision covers the pair."""
    standing = exists().where(
        and_(
            LinkDecision.left_record_id == ReviewPair.left_record_id,
            LinkDecision.right_record_id == ReviewPair.right_record_id,
        )
    )
    return ReviewPair.decision.is_not(None) | standing


def _items(session: Session, rows: Sequence[ReviewPair]) -> list[ReviewItem]:
    """Queue items with their outcomes: the queue's own, else the latest link decision."""
    undecided = [r for r in rows if r.decision is None]
    standing: dict[tuple[str, str], LinkDecision] = {}
    if undecided:
        lefts = sorted({r.left_record_id for r in undecided})
        for found in session.scalars(
            select(LinkDecision)
            .where(LinkDecision.left_record_id.in_(lefts))
            .order_by(LinkDecision.id)
        ):
            standing[(found.left_record_id, found.right_record_id)] = found
    items = []
    for row in rows:
        link = standing.get((row.left_record_id, row.right_record_id))
        outcome: tuple[str | None, str | None, str | None, dt.datetime | None] = (
            (row.decision, row.reason, row.decided_by, row.decided_at)
            if row.decision is not None or link is None
            else (link.decision, link.reason, link.decided_by, link.decided_at)
        )
        items.append(
            ReviewItem(
                id=row.id,
                resolution_run_id=row.resolution_run_id,
                rank=row.rank,
                left_record_id=row.left_record_id,
                right_record_id=row.right_record_id,
                match_probability=row.match_probability,
                why=row.why,
                left_person_id=row.left_person_id,
                right_person_id=row.right_person_id,
                decision=outcome[0],
                reason=outcome[1],
                decided_by=outcome[2],
                decided_at=outcome[3],
            )
        )
    return items
