"""The priority policy's versions: proposed with their impact, published by a second person.

A version is numbered when proposed and never edited; publishing is a supervisor's or an
admin's act and never the proposer's (two-person), audited. The published version with the
highest number whose ``effective_from`` has come is in force; before any is published, the
shipped default (:func:`caseline.cases.priority_policy.default_policy`) orders the lists,
shown as unpublished. Old versions stay readable, with the impact report measured at their
proposal. A version whose rules select a group beyond the policy's bound with no written
justification is refused when proposed and cannot be published.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseline.cases.priority_impact import (
    ImpactReport,
    WorldTruth,
    measure_impact,
    refuse_proxies,
)
from caseline.cases.priority_policy import PriorityPolicy, default_policy, parse_policy
from caseline.db.models import PriorityPolicyVersion
from caseline.errors import AccessDenied, ConflictError, InputError, NotFoundError
from caseline.oversight import (
    Actor,
    Permission,
    PolicyImpactMeasured,
    PolicyProposed,
    PolicyPublished,
    authorize,
    permit,
)


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    version: int
    policy: PriorityPolicy
    proposed_by: str
    proposed_at: dt.datetime
    impact: dict[str, Any] | None
    published_by: str | None
    published_at: dt.datetime | None

    @property
    def published(self) -> bool:
        return self.published_at is not None

    @property
    def state(self) -> str:
        return "published" if self.published else "proposed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "state": self.state,
            "proposed_by": self.proposed_by,
            "proposed_at": self.proposed_at.isoformat(),
            "published_by": self.published_by,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "policy": self.policy.as_dict(),
            "impact": self.impact,
        }


@dataclass(frozen=True, slots=True)
class PolicyInForce:
    """The policy that orders the lists on a day: a published version, or the shipped default
    (``version`` None) while none is."""

    version: int | None
    policy: PriorityPolicy

    @property
    def label(self) -> str:
        if self.version is None:
            return f"the shipped default {self.policy.name} (no version published yet)"
        return f"v{self.version} ({self.policy.name})"


def measure_policy_impact(
    session: Session,
    policy: PriorityPolicy,
    *,
    as_of: dt.date,
    actor: Actor,
    truth: WorldTruth | None = None,
    where: str = "the workspace",
) -> ImpactReport:
    """What each rule of ``policy`` selects, by naming group (with a generated world's
    ``truth``), sex and place, against the population (audited: counts, never a person)."""
    allowed = permit(actor, PolicyImpactMeasured)
    report = measure_impact(session, policy, as_of=as_of, truth=truth, where=where)
    allowed.record(
        session,
        PolicyImpactMeasured(
            policy=policy.name,
            sha256=policy.sha256,
            where=where,
            as_of=as_of.isoformat(),
            beyond_bound=tuple(f.describe() for f in report.findings),
        ),
    )
    return report


def propose_policy(
    session: Session, text: str, *, where: str, impact: ImpactReport, actor: Actor
) -> PolicyVersion:
    """Store a new version of the policy in ``text`` with the impact measured on it (audited).
    InputError if the text is not a valid policy, if ``impact`` was measured on another text,
    or if a rule selects a group beyond the bound with no written justification."""
    allowed = permit(actor, PolicyProposed)
    policy = parse_policy(text, where=where)
    if impact.policy_sha256 != policy.sha256:
        raise InputError(
            "the impact report was measured on another text of the policy; measure this one",
            where=where,
        )
    refuse_proxies(impact)
    number = (session.scalar(select(func.max(PriorityPolicyVersion.version))) or 0) + 1
    row = PriorityPolicyVersion(
        version=number,
        name=policy.name,
        text=text,
        sha256=policy.sha256,
        effective_from=policy.effective_from,
        proposed_by=actor.username,
        proposed_at=dt.datetime.now(dt.UTC),
        impact=impact.as_dict(),
    )
    session.add(row)
    session.flush()
    allowed.record(
        session,
        PolicyProposed(
            version=number,
            name=policy.name,
            sha256=policy.sha256,
            rules=tuple(r.rule_id for r in policy.rules),
            beyond_bound=tuple(f.describe() for f in impact.findings),
        ),
    )
    return _version(row)


def publish_policy(session: Session, version: int, *, actor: Actor) -> PolicyVersion:
    """Publish a proposed version (audited): never one's own proposal, never twice."""
    allowed = permit(actor, PolicyPublished)
    row = session.get(PriorityPolicyVersion, version, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no priority policy version {version}")
    if row.published_at is not None:
        raise ConflictError(
            f"version {version} was published by {row.published_by} on {row.published_at}",
            details={"version": version, "published_by": row.published_by},
        )
    if row.proposed_by == actor.username:
        raise AccessDenied(
            f"version {version} is your own proposal: a second supervisor or admin publishes it"
        )
    unjustified = [f for f in (row.impact or {}).get("findings", []) if not f.get("justified")]
    if unjustified:
        named = ", ".join(f"{f['rule']} ({f['dimension']} {f['value']})" for f in unjustified)
        raise InputError(f"rules beyond the bound without a justification: {named}",
                         where=f"version {version}")  # fmt: skip
    row.published_by = actor.username
    row.published_at = dt.datetime.now(dt.UTC)
    session.flush()
    allowed.record(
        session,
        PolicyPublished(
            version=version,
            proposed_by=row.proposed_by,
            sha256=row.sha256,
            effective_from=row.effective_from.isoformat(),
        ),
    )
    return _version(row)


def list_policy_versions(session: Session, *, actor: Actor) -> list[PolicyVersion]:
    """Every version, newest first (the policy is public to every role that reads it)."""
    authorize(actor, Permission.READ_POLICY)
    rows = session.scalars(
        select(PriorityPolicyVersion).order_by(PriorityPolicyVersion.version.desc())
    )
    return [_version(row) for row in rows]


def read_policy_version(session: Session, version: int, *, actor: Actor) -> PolicyVersion:
    authorize(actor, Permission.READ_POLICY)
    row = session.get(PriorityPolicyVersion, version)
    if row is None:
        raise NotFoundError(f"no priority policy version {version}")
    return _version(row)


def policy_in_force(session: Session, on: dt.date) -> PolicyInForce:
    """The policy that orders the lists on ``on`` (unaudited: reading it reads no person)."""
    row = session.scalars(
        select(PriorityPolicyVersion)
        .where(PriorityPolicyVersion.published_at.is_not(None))
        .where(PriorityPolicyVersion.effective_from <= on)
        .order_by(PriorityPolicyVersion.version.desc())
        .limit(1)
    ).first()
    if row is None:
        return PolicyInForce(None, default_policy())
    return PolicyInForce(row.version, parse_policy(row.text, where=f"version {row.version}"))


def policy_of_version(session: Session, version: int) -> PolicyInForce:
    """Version ``version``'s policy, to rank by (unaudited and unchecked: for an entry point
    that checks its own permit, as a simulation does)."""
    row = session.get(PriorityPolicyVersion, version)
    if row is None:
        raise NotFoundError(f"no priority policy version {version}")
    return PolicyInForce(version, parse_policy(row.text, where=f"version {version}"))


def _version(row: PriorityPolicyVersion) -> PolicyVersion:
    return PolicyVersion(
        version=row.version,
        policy=parse_policy(row.text, where=f"version {row.version}"),
        proposed_by=row.proposed_by,
        proposed_at=row.proposed_at,
        impact=row.impact,
        published_by=row.published_by,
        published_at=row.published_at,
    )
