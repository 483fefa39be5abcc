"""The priority policy: the one in force and every version with its impact report (read by
every role that works or oversees cases), a version proposed and published two-person."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from caseline.api.deps import Authorized, DatabaseDep, day_query
from caseline.cases import (
    PolicyVersion,
    list_policy_versions,
    measure_policy_impact,
    parse_policy,
    policy_in_force,
    propose_policy,
    publish_policy,
    read_policy_version,
)
from caseline.oversight import Actor, Permission

router = APIRouter(tags=["policy"])
Reader = Annotated[Actor, Authorized(Permission.READ_POLICY)]
AsOf = Annotated[dt.date | None, day_query("The day the policy in force is taken (today)")]
MAX_POLICY_TEXT = 200_000


class PolicyVersionOut(BaseModel):
    version: int
    state: str = Field(description="proposed | published")
    proposed_by: str
    proposed_at: dt.datetime
    published_by: str | None
    published_at: dt.datetime | None
    policy: dict[str, Any] = Field(description="The rules, each with its legal basis")
    impact: dict[str, Any] | None = Field(description="The impact measured at its proposal")


class PolicyInForceOut(BaseModel):
    version: int | None = Field(description="None: the shipped default, no version published")
    label: str
    policy: dict[str, Any]
    versions: list[PolicyVersionOut]


class ProposalIn(BaseModel):
    text: str = Field(max_length=MAX_POLICY_TEXT, description="The policy as YAML")


@router.get("/policy", response_model=PolicyInForceOut)
def policy(database: DatabaseDep, actor: Reader, as_of: AsOf = None) -> PolicyInForceOut:
    """The policy in force on the day and every version, newest first."""
    with database.transaction() as session:
        versions = list_policy_versions(session, actor=actor)
        force = policy_in_force(session, as_of or dt.date.today())
    return PolicyInForceOut(
        version=force.version,
        label=force.label,
        policy=force.policy.as_dict(),
        versions=[_out(v) for v in versions],
    )


@router.get("/policy/versions/{version}", response_model=PolicyVersionOut)
def policy_version(version: int, database: DatabaseDep, actor: Reader) -> PolicyVersionOut:
    """One version, proposed or published, with the impact report measured at its proposal."""
    with database.transaction() as session:
        return _out(read_policy_version(session, version, actor=actor))


@router.post(
    "/policy/versions", response_model=PolicyVersionOut, status_code=status.HTTP_201_CREATED
)
def propose(
    body: ProposalIn,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.PROPOSE_POLICY)],
    as_of: AsOf = None,
) -> PolicyVersionOut:
    """Measure a policy's impact on the workspace and store it as the next version, proposed
    (audited); 422 says which rule and field is wrong, or which rule is beyond the bound."""
    policy_text = parse_policy(body.text, where="the policy")
    with database.transaction() as session:
        impact = measure_policy_impact(
            session, policy_text, as_of=as_of or dt.date.today(), actor=actor
        )
        return _out(
            propose_policy(session, body.text, where="the policy", impact=impact, actor=actor)
        )


@router.post("/policy/versions/{version}/publish", response_model=PolicyVersionOut)
def publish(
    version: int,
    database: DatabaseDep,
    actor: Annotated[Actor, Authorized(Permission.PUBLISH_POLICY)],
) -> PolicyVersionOut:
    """Publish another's proposed version (never one's own: 403; twice: 409). Audited."""
    with database.transaction() as session:
        return _out(publish_policy(session, version, actor=actor))


def _out(version: PolicyVersion) -> PolicyVersionOut:
    return PolicyVersionOut.model_validate(version.as_dict())
