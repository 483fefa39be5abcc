"""The access policy: which role may do what. Checked on the server for every route."""

from __future__ import annotations

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
    }
)
# The one table of who may do what; a permission not listed for a role is refused.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ANALYST: _REVIEWER,
    Role.SUPERVISOR: _REVIEWER,
    # Legal reviewers clear status stops and run proceedings; they open no cases.
    Role.LEGAL: frozenset(
        {
            Permission.SEARCH_PERSONS,
            Permission.READ_PERSON,
            Permission.EXPLAIN_LINKS,
            Permission.READ_CASES,
            Permission.TAKE_CASE_STEPS,
            Permission.LIST_DEPARTURES,
        }
    ),
    Role.AUDITOR: frozenset(
        {Permission.READ_AUDIT, Permission.VERIFY_AUDIT, Permission.READ_REPORTS}
    ),
    # Admins run the system and its users; they see no persons and approve no cases.
    Role.ADMIN: frozenset(
        {Permission.MANAGE_USERS, Permission.VERIFY_AUDIT, Permission.READ_REPORTS}
    ),
    # Data engineers load and resolve records and measure the result. Bulk export moves
    # resolved data into other tools, with a purpose, audited with what and how much. Raw
    # quarantined rows hold personal data: listing them is theirs alone, and audited.
    Role.DATA_ENGINEER: frozenset(
        {
            Permission.EXPORT_PERSONS,
            Permission.INGEST_FILES,
            Permission.READ_INGEST_PROBLEMS,
            Permission.RESOLVE_PERSONS,
            Permission.EVALUATE_ACCURACY,
        }
    ),
}

MIN_PURPOSE_LENGTH = 5


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
    """The stated purpose of reading a person, which the audit trail keeps; refused if absent."""
    stated = (purpose or "").strip()
    if len(stated) < MIN_PURPOSE_LENGTH:
        raise AccessDenied(
            f"reading a person needs a purpose of at least {MIN_PURPOSE_LENGTH} characters"
        )
    return stated
