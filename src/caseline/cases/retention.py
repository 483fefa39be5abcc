"""Retention: purge the source records past their source's period, audited, in one
transaction, and flag the persons who lost records and the cases open on them.

A source's period (``Settings.retention_days``: source -> days; a source not named is kept
forever) runs from the record's own latest date: the latest of ``observed_on``,
``valid_from`` and ``valid_to``, or, for a record that gives none, the day its file was
ingested. A record is past its period on a day (``as_of``) when that date is before
``as_of`` less the period. A record whose validity is still open (a start and no end: a
utility account not closed) is current and never past.

What a purge removes with each record, so that nothing points at a record that is gone:
its membership of a person (``person_records``; the person's name words for search are
rewritten from the records left), the reviewers' link decisions that name it, the values
ingest left out of it (``record_value_issues``) and the disputes whose effect ended with it
(rejected ones, upheld ``not_me`` and ``value`` ones). It also removes the
quarantined rows of the source's files ingested before the cut-off. It keeps a record that
a dispute still needs (open, or upheld ``not_my_address`` or ``status``: their effect
outlives the record) and counts it as held. It keeps the ingest runs (a purged file
ingested again stays a no-op), persons' merge and split events, case histories and their
dossiers, and the audit trail, which is never purged.

A person who lost records is flagged, once per case open on them (or once with no case);
one who lost every record is removed, and their cases' guards then stop every step. The
guards read a flag as a change to the person (:mod:`caseline.cases.guards`), so an open
case must have the identity re-confirmed after a purge.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from caseline.cases.workflow import OUTCOMES
from caseline.db.models import (
    Case,
    Dispute,
    IngestRun,
    LinkDecision,
    Person,
    PersonRecord,
    QuarantinedRow,
    RecordValueIssue,
    RetentionFlag,
    ReviewPair,
    SourceRecord,
    utcnow,
)
from caseline.errors import ConflictError, InputError
from caseline.oversight import (
    Actor,
    RetentionApplied,
    RetentionFlagsListed,
    RetentionPreviewed,
    permit,
)
from caseline.profiles.disputed import DisputeKind, DisputeState
from caseline.resolve.name_words import refresh_name_words

T = TypeVar("T")
CHUNK = 1000  # record ids per statement: far under every driver's limit on parameters
# Upheld disputes whose effect outlives the record: the address stays not the person's, the
# status record the dispute added stays with them.
_LASTING = (DisputeKind.NOT_MY_ADDRESS.value, DisputeKind.STATUS.value)


@dataclass(frozen=True, slots=True)
class SourceRetention:
    """One source's period and what is past it on the day."""

    source: str
    days: int
    cutoff: dt.date  # records whose latest date is before this day are past their period
    records: int  # past it, and purged (or to be)
    held: int  # past it, kept because a dispute still needs the record


@dataclass(frozen=True, slots=True)
class DependentPerson:
    """A person who loses records, how many of how many, and the cases open on them."""

    person_id: str
    records_lost: int
    records_left: int  # 0: the person is removed
    sources: dict[str, int]  # source -> records lost
    open_cases: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RetentionPreview:
    """What a purge on ``as_of`` removes, per source, and everything that goes with it."""

    as_of: dt.date
    sources: tuple[SourceRetention, ...]
    persons: tuple[DependentPerson, ...]
    link_decisions: int
    disputes: int
    value_issues: int
    quarantined_rows: int

    @property
    def records(self) -> int:
        return sum(s.records for s in self.sources)

    @property
    def held(self) -> int:
        return sum(s.held for s in self.sources)

    @property
    def cases(self) -> tuple[int, ...]:
        return tuple(sorted({c for p in self.persons for c in p.open_cases}))


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """A purge applied: its id (on the flags and the audit event) and what it removed."""

    run_id: str
    applied_at: dt.datetime
    purged: RetentionPreview
    persons_removed: int


@dataclass(frozen=True, slots=True)
class RetentionFlagSummary:
    run_id: str
    applied_at: dt.datetime
    applied_by: str
    as_of: dt.date
    person_id: str
    case_id: int | None
    records_lost: int
    records_left: int
    sources: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Plan:
    preview: RetentionPreview
    record_ids: tuple[str, ...]  # every record to purge
    quarantine_runs: tuple[int, ...]  # ingest runs whose quarantined rows go


def preview_retention(
    session: Session, actor: Actor, *, periods: Mapping[str, int], as_of: dt.date
) -> RetentionPreview:
    """What ``apply_retention`` on ``as_of`` would purge (audited with the persons and cases
    that depend on it; nothing is changed)."""
    allowed = permit(actor, RetentionPreviewed)
    preview = _plan(session, periods, as_of).preview
    allowed.record(
        session,
        RetentionPreviewed(
            as_of=as_of.isoformat(),
            records={s.source: s.records for s in preview.sources},
            held={s.source: s.held for s in preview.sources},
            persons=tuple(p.person_id for p in preview.persons),
            cases=preview.cases,
        ),
    )
    return preview


def apply_retention(
    session: Session,
    actor: Actor,
    *,
    periods: Mapping[str, int],
    as_of: dt.date,
    expected_records: int | None = None,
    today: dt.date | None = None,
) -> RetentionRun:
    """Purge what is past its period on ``as_of``, in the caller's transaction (all or none),
    flag the persons who lost records and their open cases, and audit the counts.

    ``as_of`` may not be after today (a purge ahead of time would remove what is still
    kept). ``expected_records``, the total a preview showed, refuses the purge if the
    records past their period have changed since."""
    allowed = permit(actor, RetentionApplied)
    today = today or dt.date.today()
    if as_of > today:
        raise InputError(
            f"{as_of} is after today ({today}): a purge removes only what is past its period "
            "now; preview a later day with `retention show` instead",
            where="as_of",
        )
    plan = _plan(session, periods, as_of)
    preview = plan.preview
    if expected_records is not None and expected_records != preview.records:
        raise ConflictError(
            f"{preview.records} records are past their period now, not the "
            f"{expected_records} expected: look at the preview again",
            details={"records": preview.records, "expected": expected_records},
        )
    _purge(session, plan)
    removed = _update_persons(session, preview.persons)
    applied_at = utcnow()
    run_id = f"{applied_at:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    session.add_all(
        RetentionFlag(
            run_id=run_id,
            applied_at=applied_at,
            applied_by=actor.username,
            as_of=as_of,
            person_id=person.person_id,
            case_id=case_id,
            records_lost=person.records_lost,
            records_left=person.records_left,
            sources=dict(person.sources),
        )
        for person in preview.persons
        for case_id in (person.open_cases or (None,))
    )
    allowed.record(
        session,
        RetentionApplied(
            run_id=run_id,
            as_of=as_of.isoformat(),
            periods=dict(periods),
            records={s.source: s.records for s in preview.sources},
            held={s.source: s.held for s in preview.sources},
            link_decisions=preview.link_decisions,
            disputes=preview.disputes,
            value_issues=preview.value_issues,
            quarantined_rows=preview.quarantined_rows,
            persons_flagged=len(preview.persons),
            persons_removed=removed,
            cases_flagged=preview.cases,
        ),
    )
    return RetentionRun(run_id, applied_at, preview, removed)


def list_retention_flags(
    session: Session,
    actor: Actor,
    *,
    run_id: str | None = None,
    person_id: str | None = None,
    limit: int = 500,
) -> list[RetentionFlagSummary]:
    """The flags purges left, newest first (audited with the persons and cases listed)."""
    allowed = permit(actor, RetentionFlagsListed)
    query = select(RetentionFlag).order_by(RetentionFlag.id.desc()).limit(limit)
    if run_id:
        query = query.where(RetentionFlag.run_id == run_id)
    if person_id:
        query = query.where(RetentionFlag.person_id == person_id)
    found = [
        RetentionFlagSummary(
            run_id=row.run_id,
            applied_at=row.applied_at,
            applied_by=row.applied_by,
            as_of=row.as_of,
            person_id=row.person_id,
            case_id=row.case_id,
            records_lost=row.records_lost,
            records_left=row.records_left,
            sources={str(k): int(v) for k, v in (row.sources or {}).items()},
        )
        for row in session.scalars(query)
    ]
    allowed.record(
        session,
        RetentionFlagsListed(
            run_id=run_id,
            persons=tuple(dict.fromkeys(f.person_id for f in found)),
            cases=tuple(sorted({f.case_id for f in found if f.case_id is not None})),
        ),
    )
    return found


def _cutoffs(periods: Mapping[str, int], as_of: dt.date) -> dict[str, dt.date]:
    cutoffs = {}
    for source, days in sorted(periods.items()):
        if days < 1:
            raise InputError(f"{days} is not a period: whole days, 1 or more",
                             where=f"retention_days[{source}]")  # fmt: skip
        cutoffs[source] = as_of - dt.timedelta(days=days)
    return cutoffs


def _past(source: str, cutoff: dt.date) -> ColumnElement[bool]:
    """The source's records past their period: every date they give is before the cut-off
    (a record that gives none: ingested before it), and their validity is not open."""
    dates = (SourceRecord.observed_on, SourceRecord.valid_from, SourceRecord.valid_to)
    ingested_before = select(IngestRun.id).where(
        IngestRun.source == source, IngestRun.started_at < _midnight(cutoff)
    )
    return and_(
        SourceRecord.source == source,
        *(or_(date.is_(None), date < cutoff) for date in dates),
        ~and_(SourceRecord.valid_from.is_not(None), SourceRecord.valid_to.is_(None)),
        or_(
            *(date.is_not(None) for date in dates),
            SourceRecord.ingest_run_id.in_(ingested_before),
        ),
    )


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _held_by_disputes(session: Session) -> frozenset[str]:
    """Records a dispute still needs: under open dispute, or upheld with a lasting effect
    (and the status records upheld disputes added)."""
    held: set[str] = set()
    for row in session.scalars(select(Dispute).where(~_moot_dispute())):
        held.add(row.record_id)
        added = (row.effect or {}).get("record_added")
        if added:
            held.add(str(added))
    return frozenset(held)


def _moot_dispute() -> ColumnElement[bool]:
    """A dispute whose effect ends with its record: rejected, or upheld not_me or value."""
    return or_(
        Dispute.state == DisputeState.REJECTED.value,
        and_(Dispute.state == DisputeState.UPHELD.value, Dispute.kind.not_in(_LASTING)),
    )


def _plan(session: Session, periods: Mapping[str, int], as_of: dt.date) -> _Plan:
    """Every record past its period, and everything its purge would take with it."""
    cutoffs = _cutoffs(periods, as_of)
    held_ids = _held_by_disputes(session)
    past: dict[str, list[str]] = {source: [] for source in cutoffs}
    held: Counter[str] = Counter()
    for source, cutoff in cutoffs.items():
        for record_id in session.scalars(
            select(SourceRecord.record_id)
            .where(_past(source, cutoff))
            .order_by(SourceRecord.record_id)
        ):
            if record_id in held_ids:
                held[source] += 1
            else:
                past[source].append(record_id)
    record_ids = tuple(r for ids in past.values() for r in ids)
    old_files = [
        and_(IngestRun.source == s, IngestRun.started_at < _midnight(c)) for s, c in cutoffs.items()
    ]
    quarantine_runs = (
        tuple(session.scalars(select(IngestRun.id).where(or_(*old_files)))) if old_files else ()
    )
    preview = RetentionPreview(
        as_of=as_of,
        sources=tuple(
            SourceRetention(source, periods[source], cutoff, len(past[source]), held[source])
            for source, cutoff in cutoffs.items()
        ),
        persons=_dependants(session, record_ids),
        link_decisions=_count_links(session, record_ids),
        disputes=_count(session, Dispute.record_id, record_ids),
        value_issues=_count(session, RecordValueIssue.record_id, record_ids),
        quarantined_rows=sum(
            session.scalar(select(func.count()).where(QuarantinedRow.ingest_run_id.in_(runs))) or 0
            for runs in _chunks(quarantine_runs)
        ),
    )
    return _Plan(preview, record_ids, quarantine_runs)


def _dependants(session: Session, record_ids: Sequence[str]) -> tuple[DependentPerson, ...]:
    lost: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for chunk in _chunks(record_ids):
        for person_id, source, n in session.execute(
            select(PersonRecord.person_id, SourceRecord.source, func.count())
            .join(SourceRecord, SourceRecord.record_id == PersonRecord.record_id)
            .where(PersonRecord.record_id.in_(chunk))
            .group_by(PersonRecord.person_id, SourceRecord.source)
        ):
            lost[person_id][source] += n
    held: Counter[str] = Counter()
    cases: defaultdict[str, list[int]] = defaultdict(list)
    for chunk in _chunks(sorted(lost)):
        for person_id, n in session.execute(
            select(PersonRecord.person_id, func.count())
            .where(PersonRecord.person_id.in_(chunk))
            .group_by(PersonRecord.person_id)
        ):
            held[person_id] = n
        for case_id, person_id in session.execute(
            select(Case.id, Case.person_id)
            .where(Case.person_id.in_(chunk), Case.state.not_in([s.value for s in OUTCOMES]))
            .order_by(Case.id)
        ):
            cases[person_id].append(case_id)
    return tuple(
        DependentPerson(
            person_id=person_id,
            records_lost=sum(by_source.values()),
            records_left=held[person_id] - sum(by_source.values()),
            sources=dict(sorted(by_source.items())),
            open_cases=tuple(cases[person_id]),
        )
        for person_id, by_source in sorted(lost.items())
    )


def _count_links(session: Session, record_ids: Sequence[str]) -> int:
    """Link decisions naming any of the records (each once, whichever side names it)."""
    found: set[int] = set()
    for chunk in _chunks(record_ids):
        found.update(
            session.scalars(
                select(LinkDecision.id).where(
                    or_(LinkDecision.left_record_id.in_(chunk),
                        LinkDecision.right_record_id.in_(chunk))
                )
            )
        )  # fmt: skip
    return len(found)


def _count(session: Session, column: InstrumentedAttribute[str], record_ids: Sequence[str]) -> int:
    return sum(
        session.scalar(select(func.count()).where(column.in_(chunk))) or 0
        for chunk in _chunks(record_ids)
    )


def _purge(session: Session, plan: _Plan) -> None:
    """Delete the records and what names them, children first (the foreign keys hold)."""
    for chunk in _chunks(plan.record_ids):
        session.execute(delete(RecordValueIssue).where(RecordValueIssue.record_id.in_(chunk)))
        session.execute(
            delete(LinkDecision).where(
                or_(LinkDecision.left_record_id.in_(chunk), LinkDecision.right_record_id.in_(chunk))
            )
        )
        session.execute(  # the review queue's pairs that name a purged record
            delete(ReviewPair).where(
                or_(ReviewPair.left_record_id.in_(chunk), ReviewPair.right_record_id.in_(chunk))
            )
        )
        # Only disputes whose effect ended with the record: one filed meanwhile stays, and
        # its record's delete then fails on the foreign key, so nothing is purged.
        session.execute(delete(Dispute).where(Dispute.record_id.in_(chunk), _moot_dispute()))
        session.execute(delete(PersonRecord).where(PersonRecord.record_id.in_(chunk)))
        session.execute(delete(SourceRecord).where(SourceRecord.record_id.in_(chunk)))
    for runs in _chunks(plan.quarantine_runs):
        session.execute(delete(QuarantinedRow).where(QuarantinedRow.ingest_run_id.in_(runs)))


def _update_persons(session: Session, persons: Sequence[DependentPerson]) -> int:
    """Remove the persons left with no record; count and name the others anew from the
    records they keep, and the words search finds them by. Returns how many were removed."""
    gone = [p.person_id for p in persons if p.records_left <= 0]
    for chunk in _chunks(gone):
        session.execute(delete(Person).where(Person.person_id.in_(chunk)))
    kept = [p for p in persons if p.records_left > 0]
    names: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for chunk in _chunks([p.person_id for p in kept]):
        for person_id, given, family in session.execute(
            select(PersonRecord.person_id, SourceRecord.given_name, SourceRecord.family_name)
            .join(SourceRecord, SourceRecord.record_id == PersonRecord.record_id)
            .where(PersonRecord.person_id.in_(chunk))
        ):
            name = " ".join(filter(None, (given, family)))
            if name:
                names[person_id][name] += 1
    for person in kept:
        counts = names.get(person.person_id)
        # The most common name, ties to the alphabetically first, as resolution names them.
        shown = min(counts.items(), key=lambda i: (-i[1], i[0]))[0] if counts else "(no name)"
        session.execute(
            update(Person)
            .where(Person.person_id == person.person_id)
            .values(record_count=person.records_left, display_name=shown)
        )
    refresh_name_words(session, [p.person_id for p in persons])  # what search matches
    return len(gone)


def _chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
