"""Audit events of backing up and restoring a workspace: the archive written, with its sha256
and the audit chain's head it holds; the workspace's data replaced from one. Registered beside
the other event types (one frozen dataclass each, recorded through a permit)."""

from __future__ import annotations

from dataclasses import dataclass

from caseline.oversight.access import Permission
from caseline.oversight.events import Event


@dataclass(frozen=True, kw_only=True)
class WorkspaceBackedUp(Event):
    action = "back_up_workspace"
    object_type = "backup"
    permission = Permission.BACK_UP_WORKSPACE
    object_field = "sha256"
    summary = "a backup archive written: its file, sha256, size and the audit head it holds"

    sha256: str
    file: str
    size: int
    dialect: str
    revision: str
    head_seq: int
    head_hash: str


@dataclass(frozen=True, kw_only=True)
class WorkspaceRestored(Event):
    action = "restore_workspace"
    object_type = "backup"
    permission = Permission.BACK_UP_WORKSPACE
    object_field = "sha256"
    summary = "the workspace's data replaced from a backup archive, with the head it restored"

    sha256: str
    file: str
    taken_at: str
    taken_by: str
    revision: str
    head_seq: int
    head_hash: str
