"""The access policy: which role may do what. Checked on the server for every route."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from caseline.errors import AccessDenied


class Role(StrEnum):
    ANALYST = "analyst"
    SUPERVISOR = "supervisor"
    LEGAL = "legal"
    AUDITOR = "auditor"
    ADMIN = "admin"
    DATA_ENGINEER = "data_engineer"


class Permission(StrEnum):
    SEARCH_PERSONS = "search_persons"
    READ_PERSON = "read_person"
    READ_AUDIT = "read_audit"
    EXPLAIN_LINKS = "explain_links"
    DECIDE_LINKS = "decide_links"
    EXPORT_PERSONS = "export_persons"
    INGEST_FILES = "ingest_files"
    READ_INGEST_PROBLEMS = "read_ingest_problems"
    RESOLVE_PERSONS = "resolve_persons"
    EVALUATE_ACCURACY = "evaluate_accuracy"
    MANAGE_USERS = "manage_users"
    VERIFY_AUDIT = "verify_audit"
    LIST_LEADS = "list_leads"
    OPEN_CASES = "open_cases"
    READ_CASES = "read_cases"
    TAKE_CASE_STEPS = "take_case_steps"  # which steps, the lifecycle table says by role
    LIST_DEPARTURES = "list_departures"
    READ_REPORTS = "read_reports"  # the oversight reports: counts and ids, never a profile
    COUNTERSIGN_PURPOSES = "countersign_purposes"  # a purpose in words, before it allows
    FILE_DISPUTES = "file_disputes"  # for a person, about one of their records
    REVIEW_DISPUTES = "review_disputes"  # another's dispute: uphold or reject it
    READ_DISPUTES = "read_disputes"
    APPLY_RETENTION = "apply_retention"  # purge records past their source's period
    READ_RETENTION = "read_retention"  # what a purge would remove; the flags it left
    READ_RUNS = "read_runs"  # ingest and resolution runs: counts, timings, figures; no rows
    BACK_UP_WORKSPACE = "back_up_workspace"  # write a backup archive; restore from one
    READ_POLICY = "read_policy"  # the priority policy's versions, rules and impact reports
    PROPOSE_POLICY = "propose_policy"  # a new version, with its impact measured
    PUBLISH_POLICY = "publish_policy"  # another's proposed version (two-person)


# Analysts and supervisors review links: they may see why two records scored as they did and
# decide that they are, or are not, one person. They work leads into cases.
_REVIEWER = frozenset(
    {
        Permission.SEARCH_PERSONS,
        Permission.READ_PERSON,
        Permission.EXPLAIN_LINKS,
        Permission.DECIDE_LINKS,
        Permission.LIST_LEADS,
        Permission.OPEN_CASES,
        Permission.READ_CASES,
        Permission.TAKE_CASE_STEPS,
        Permission.LIST_DEPARTURES,
        Permission.READ_POLICY,
    }
)
# Supervisors and admins propose priority policy versions and publish another's (issue 24).
_POLICY_MAKER = frozenset({Permission.PROPOSE_POLICY, Permission.PUBLISH_POLICY})
# The one table of who may do what; a permission not listed for a role is refused.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ANALYST: _REVIEWER,
    # Supervisors also countersign the purposes in words that others state for a read or
    # an export (never their own).
    Role.SUPERVISOR: _REVIEWER
    | _POLICY_MAKER
    | {Permission.COUNTERSIGN_PURPOSES, Permission.READ_DISPUTES},
    # Legal reviewers clear status stops and run proceedings; they open no cases. They file
    # disputes for the persons they represent and review others' (never their own).
    Role.LEGAL: frozenset(
        {
            Permission.FILE_DISPUTES,
            Permission.REVIEW_DISPUTES,
            Permission.READ_DISPUTES,
            Permission.SEARCH_PERSONS,
            Permission.READ_PERSON,
            Permission.EXPLAIN_LINKS,
            Permission.READ_CASES,
            Permission.TAKE_CASE_STEPS,
            Permission.LIST_DEPARTURES,
            Permission.READ_POLICY,
        }
    ),
    # Auditors also see what retention would purge and what a purge flagged (ids, counts).
    Role.AUDITOR: frozenset(
        {
            Permission.READ_AUDIT,
            Permission.VERIFY_AUDIT,
            Permission.READ_REPORTS,
            Permission.READ_RETENTION,
            Permission.READ_RUNS,
            Permission.READ_POLICY,
        }
    ),
    # Admins run the system and its users; they see no persons and approve no cases. They
    # apply the retention periods the settings give (ids and counts, never a profile), and
    # back up and restore the workspace (an archive holds everything: theirs alone).
    Role.ADMIN: frozenset(
        {
            Permission.BACK_UP_WORKSPACE,
            Permission.MANAGE_USERS,
            Permission.VERIFY_AUDIT,
            Permission.READ_REPORTS,
            Permission.APPLY_RETENTION,
            Permission.READ_RETENTION,
            Permission.READ_RUNS,
            Permission.READ_POLICY,
        }
    )
    | _POLICY_MAKER,
    # Data engineers load and resolve records and measure the result. Bulk export moves
    # resolved data into other tools, with a purpose, audited with what and how much. Raw
    # quarantined rows hold personal data: listing them is theirs alone, and audited. The
    # runs (files, counts, timings, evaluation figures) hold none: admins and auditors read
    # them too.
    Role.DATA_ENGINEER: frozenset(
        {
            Permission.EXPORT_PERSONS,
            Permission.INGEST_FILES,
            Permission.READ_INGEST_PROBLEMS,
            Permission.RESOLVE_PERSONS,
            Permission.EVALUATE_ACCURACY,
            Permission.READ_RUNS,
        }
    ),
}

# A purpose is work (``case:ID``, ``lead:ID``, ``dispute:ID``: checked against it by the
# stage that reads) or a reason in words, of at least this length and this many words.
MIN_PURPOSE_LENGTH = 15
MIN_PURPOSE_WORDS = 3
WORK_PURPOSE = re.compile(r"^(case|lead|dispute|pair):[A-Za-z0-9_.:-]{1,200}$")
_WORD = re.compile(r"[^\W\d_]{2,}")  # two or more letters
PURPOSE_RULE = (
    "a purpose is case:ID (an open case you work on), lead:ID (a lead you triage), "
    "dispute:ID (an open dispute you filed or review), pair:ID (a pair of the review queue), "
    "or a "
    f"reason in words (at least {MIN_PURPOSE_LENGTH} characters and {MIN_PURPOSE_WORDS} "
    "words) that a supervisor countersigns"
)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting, as established by a valid session."""

    username: str
    role: Role


def authorize(actor: Actor, permission: Permission) -> None:
    """Raise AccessDenied unless the actor's role grants the permission."""
    if permission not in ROLE_PERMISSIONS[actor.role]:
        raise AccessDenied(f"role '{actor.role}' may not {permission.replace('_', ' ')}")


def require_purpose(purpose: str | None) -> str:
    """The stated purpose of reading a person, which the audit trail keeps: work it names
    (``case:ID``, ``lead:ID``, ``dispute:ID``) or a reason in words; refused if absent or
    junk (``.....``). Whether the work is the reader's, or the reason countersigned, the
    reading stage checks."""
    stated = " ".join((purpose or "").split())
    if WORK_PURPOSE.match(stated):
        return stated
    if len(stated) < MIN_PURPOSE_LENGTH or len(_WORD.findall(stated)) < MIN_PURPOSE_WORDS:
        raise AccessDenied(f"reading a person needs a purpose: {PURPOSE_RULE}")
    return stated
