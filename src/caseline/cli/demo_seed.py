"""What `caseline demo` adds beyond cases, so that every page has something in it: the
default priority policy published, disputes in each state and a purpose in words waiting for
a supervisor's countersignature."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from caseline.cases import (
    Lead,
    decide_dispute,
    default_policy,
    file_dispute,
    find_leads,
    measure_policy_impact,
    propose_policy,
    publish_policy,
    read_person_on_case,
    read_world_truth,
    start_review,
    state_purpose,
)
from caseline.cli.app import Workspace
from caseline.errors import CaselineError
from caseline.oversight import Actor, actor_with_password
from caseline.profiles import ProfileRecord


def seed_policy(ws: Workspace, password: str, world: Path, as_of: dt.date) -> int | None:
    """The shipped default priority policy, measured on the demo world (its truth gives naming
    group and sex), proposed by the supervisor and published by the admin, so that leads and
    cases are ranked by a published version; the version, or None if it was refused."""
    policy = default_policy()
    truth = read_world_truth(world / "truth.csv", world / "persons.csv")
    try:
        with ws.database.transaction() as session:
            supervisor = actor_with_password(session, "supervisor", password)
            impact = measure_policy_impact(
                session, policy, as_of=as_of, actor=supervisor, truth=truth, where="demo world"
            )
            version = propose_policy(
                session, policy.text, where="default policy", impact=impact, actor=supervisor
            ).version
        with ws.database.transaction() as session:
            admin = actor_with_password(session, "admin", password)
            return publish_policy(session, version, actor=admin).version
    except CaselineError:
        return None  # the policy page says what stands in its way


def seed_disputes(ws: Workspace, password: str, case_ids: list[int], as_of: dt.date) -> int:
    """On the demo cases' persons: one dispute filed, one under review, one upheld and one
    rejected; the number filed. The legal representative files, the reviewer decides."""
    with ws.database.transaction() as session:
        analyst = actor_with_password(session, "analyst", password)
        legal = actor_with_password(session, "legal", password)
        reviewer = actor_with_password(session, "reviewer", password)
    plans = [
        ("not_my_address", None),
        ("value", "under_review"),
        ("not_my_address", "upheld"),
        ("value", "rejected"),
    ]
    filed = 0
    for case_id, (kind, fate) in zip(case_ids, plans, strict=False):
        with ws.database.transaction() as session:
            profile = read_person_on_case(session, case_id, actor=analyst, as_of=as_of)
        record = _record_for(profile.records, kind)
        if record is None:
            continue
        try:
            dispute_id = _file(ws, legal, profile.person_id, record, kind)
            filed += 1
            if fate is not None:
                _decide(ws, reviewer, dispute_id, fate)
        except CaselineError:
            continue  # the demo shows what it could; the pages say the rest
    return filed


def seed_purpose_waiting(ws: Workspace, password: str, as_of: dt.date) -> bool:
    """An analyst's reason in words to read a person with no lead or case of theirs, filed
    and listed for the supervisor until they countersign it."""
    with ws.database.transaction() as session:
        analyst = actor_with_password(session, "analyst", password)
        leads: list[Lead] = [x for x in find_leads(session, as_of) if x.open_case is None]
        if not leads:
            return False
        reason = "a colleague in the field office asked about this name"
        return (
            state_purpose(session, leads[-1].person_id, actor=analyst, purpose=reason, as_of=as_of)
            is not None
        )


def _record_for(records: list[ProfileRecord], kind: str) -> ProfileRecord | None:
    with_address = [r for r in records if r.address]
    if kind == "not_my_address":
        return with_address[-1] if with_address else None
    return records[0] if records else None


def _file(ws: Workspace, legal: Actor, person_id: str, record: ProfileRecord, kind: str) -> int:
    with ws.database.transaction() as session:
        if kind == "not_my_address":
            dispute = file_dispute(
                session, legal, person_id=person_id, record_id=record.record_id, kind=kind,
                grounds="my client moved out of this address years before this record",
            )  # fmt: skip
        else:
            given = (record.name.split() or ["NAME"])[0]
            dispute = file_dispute(
                session, legal, person_id=person_id, record_id=record.record_id, kind=kind,
                field="given_name", value=given[::-1],
                grounds="the given name on this record is misspelt, as the passport shows",
            )  # fmt: skip
    return dispute.id


def _decide(ws: Workspace, reviewer: Actor, dispute_id: int, fate: str) -> None:
    with ws.database.transaction() as session:
        start_review(session, reviewer, dispute_id)
    if fate == "under_review":
        return
    with ws.database.transaction() as session:
        decide_dispute(
            session, reviewer, dispute_id, uphold=fate == "upheld",
            reason="checked against the lease and the utility's own account history",
        )  # fmt: skip
