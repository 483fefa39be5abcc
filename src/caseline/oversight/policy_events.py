"""Audit events of the priority policy: a version proposed, published, its impact measured.
Registered beside the other event types (one frozen dataclass each, recorded through a
permit in the transaction that does the work)."""

from __future__ import annotations

from dataclasses import dataclass

from caseline.oversight.access import Permission
from caseline.oversight.events import Event


@dataclass(frozen=True, kw_only=True)
class PolicyProposed(Event):
    action = "propose_policy"
    object_type = "priority_policy"
    permission = Permission.PROPOSE_POLICY
    object_field = "version"
    summary = (
        "a priority policy version proposed: its name, the sha256 of its YAML, its rules, and "
        "the rules and groups whose selection differs beyond the bound (with or without a "
        "written justification)"
    )

    version: int
    name: str
    sha256: str
    rules: tuple[str, ...]
    beyond_bound: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class PolicyPublished(Event):
    action = "publish_policy"
    object_type = "priority_policy"
    permission = Permission.PUBLISH_POLICY
    object_field = "version"
    summary = (
        "a proposed priority policy version published by a second person, with its proposer, "
        "the sha256 of its YAML and the day it takes effect"
    )

    version: int
    proposed_by: str
    sha256: str
    effective_from: str


@dataclass(frozen=True, kw_only=True)
class PolicyImpactMeasured(Event):
    action = "measure_policy_impact"
    object_type = "priority_policy"
    permission = Permission.PROPOSE_POLICY
    summary = (
        "a priority policy's impact measured (persons and leads each rule selects by naming "
        "group, sex and place): the policy, where, on what day, the findings beyond the bound"
    )

    policy: str
    sha256: str
    where: str
    as_of: str
    beyond_bound: tuple[str, ...]
