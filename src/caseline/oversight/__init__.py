"""Oversight: the access policy, typed audit events and their one writer, users and sessions.

Imports no domain code. Domain code asks for a :func:`permit` before it reads a person or
changes anything, and records the event through it in the same transaction.
"""

from caseline.oversight.access import Actor, Permission, Role, authorize, require_purpose
from caseline.oversight.audit import ChainReport, verify_audit_trail, verify_chain
from caseline.oversight.events import (
    AddressesEvaluated,
    Event,
    FileIngested,
    IngestProblemsRead,
    LinkDecided,
    PairExplained,
    Permit,
    PersonEventsRead,
    PersonRead,
    PersonsExported,
    PersonsResolved,
    PersonsSearched,
    RecordsPlaced,
    ResolutionEvaluated,
    SignedIn,
    SignedOut,
    UserAdded,
    event_types,
    permit,
)
from caseline.oversight.identity import (
    actor_for_token,
    actor_named,
    add_first_admin,
    create_user,
    has_users,
    sign_in,
    sign_out,
    user_exists,
)

__all__ = [
    "Actor",
    "AddressesEvaluated",
    "ChainReport",
    "Event",
    "FileIngested",
    "IngestProblemsRead",
    "LinkDecided",
    "PairExplained",
    "Permission",
    "Permit",
    "PersonEventsRead",
    "PersonRead",
    "PersonsExported",
    "PersonsResolved",
    "PersonsSearched",
    "RecordsPlaced",
    "ResolutionEvaluated",
    "Role",
    "SignedIn",
    "SignedOut",
    "UserAdded",
    "actor_for_token",
    "actor_named",
    "add_first_admin",
    "authorize",
    "create_user",
    "event_types",
    "has_users",
    "permit",
    "require_purpose",
    "sign_in",
    "sign_out",
    "user_exists",
    "verify_audit_trail",
    "verify_chain",
]
