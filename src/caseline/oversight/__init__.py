"""Oversight: the audit writer, the access policy and user sessions. Imports no domain code."""

from caseline.oversight.access import Actor, Permission, Role, authorize, require_purpose
from caseline.oversight.audit import AuditEntry, ChainReport, record_event, verify_chain
from caseline.oversight.identity import (
    actor_for_token,
    create_user,
    sign_in,
    sign_out,
    user_exists,
)

__all__ = [
    "Actor",
    "AuditEntry",
    "ChainReport",
    "Permission",
    "Role",
    "actor_for_token",
    "authorize",
    "create_user",
    "record_event",
    "require_purpose",
    "sign_in",
    "sign_out",
    "user_exists",
    "verify_chain",
]
