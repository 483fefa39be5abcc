"""The dossier: everything a step of a case rested on, kept with the step under its sha256.

It holds the profile with provenance and identity assurance, the status evidence and border
crossings, the addresses with their confidence and evidence, the guards' results and the
lead. It is canonical JSON (sorted keys, no spaces), so its hash can be checked later; the
person's part is hashed on its own too, so a later check can tell "the dossier is as kept"
from "the person has changed since".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from caseline.cases.guards import CaseFacts, GuardResult, Thresholds, gather_facts
from caseline.db.models import Case, CaseTransition
from caseline.errors import NotFoundError
from caseline.oversight import Actor, DossierRead, permit
from caseline.profiles import Profile, build_profile


def assemble_dossier(
    case: Case,
    profile: Profile,
    facts: CaseFacts,
    guards: Sequence[GuardResult],
    *,
    step: str,
    from_state: str,
    to_state: str,
    actor: str,
    fields: dict[str, str],
) -> dict[str, Any]:
    person = person_part(profile, facts)
    return {
        "case": {
            "id": case.id,
            "person_id": case.person_id,
            "origin": case.origin,
            "step": step,
            "from_state": from_state,
            "to_state": to_state,
            "taken_by": actor,
            "fields": fields,
            "as_of": facts.as_of.isoformat(),
        },
        "person": person,
        "person_sha256": sha256(canonical(person)),
        "guards": [g.as_json() for g in guards],
        "lead": case.origin,
        "thresholds": dataclasses.asdict(facts.thresholds),
    }


def person_part(profile: Profile, facts: CaseFacts) -> dict[str, Any]:
    """What the records say of the person: the part a later check compares with today's."""
    as_json = _plain(profile)
    return {
        "profile": {k: v for k, v in as_json.items() if k not in ("addresses", "status")},
        "addresses": _plain(facts.addresses),
        "status": _plain(facts.status.evidence),
        "border": _plain(facts.status.border),
    }


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    """Dataclasses, dates and tuples as JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


@dataclass(frozen=True, slots=True)
class DossierCheck:
    case_id: int
    step_id: int
    dossier: dict[str, Any]
    sha256: str
    intact: bool  # the kept text still hashes to the hash kept with the step
    person_changed: bool  # the records say something else of the person today
    person_changes: list[str]  # which parts: profile, addresses, status, border


def check_dossier(
    session: Session, case_id: int, step_id: int, *, actor: Actor, thresholds: Thresholds
) -> DossierCheck:
    """The dossier kept with a step, checked against its hash and against the person as the
    records show them now, on the same reference date (audited)."""
    allowed = permit(actor, DossierRead)
    step = session.get(CaseTransition, step_id)
    case = session.get(Case, case_id)
    if case is None or step is None or step.case_id != case_id or step.dossier is None:
        raise NotFoundError(f"no dossier for step {step_id} of case {case_id}")
    kept = json.loads(step.dossier)
    as_of = dt.date.fromisoformat(kept["case"]["as_of"])
    now = person_part(
        build_profile(session, case.person_id, as_of),
        gather_facts(session, case, thresholds, as_of),
    )
    changes = [part for part, value in now.items() if kept["person"].get(part) != value]
    allowed.record(
        session, DossierRead(case_id=str(case_id), person_id=case.person_id, transition_id=step_id)
    )
    return DossierCheck(
        case_id=case_id,
        step_id=step_id,
        dossier=kept,
        sha256=step.dossier_sha256 or "",
        intact=sha256(step.dossier) == step.dossier_sha256,
        person_changed=sha256(canonical(now)) != kept.get("person_sha256"),
        person_changes=changes,
    )
