"""Users (admins): list them, add one, disable or enable one, reset a password, change a
role. Each call is audited by :mod:`caseline.oversight` in its transaction; disabling,
resetting and changing a role end the user's sessions, so their tokens stop working."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from caseline.api.deps import Authorized, DatabaseDep
from caseline.oversight import (
    Actor,
    Permission,
    Role,
    UserSummary,
    create_user,
    disable_user,
    enable_user,
    list_users,
    reset_password,
    set_role,
)

router = APIRouter(prefix="/users", tags=["users"])
AdminActor = Annotated[Actor, Authorized(Permission.MANAGE_USERS)]
# Long enough for any password the policy takes: the policy, not the schema, says why a
# password is refused (too short, too common, holds the name).
PasswordField = Field(max_length=1024, description="Checked against the password policy.")
UsernamePath = Annotated[str, Path(max_length=64)]


class UserOut(BaseModel):
    username: str
    role: str
    enabled: bool
    created_at: dt.datetime
    sessions: int = Field(description="Live sign-in sessions.")

    @classmethod
    def of(cls, summary: UserSummary) -> UserOut:
        return cls(
            username=summary.username,
            role=summary.role,
            enabled=summary.enabled,
            created_at=summary.created_at,
            sessions=summary.sessions,
        )


class NewUser(BaseModel):
    username: str = Field(max_length=256, description="2 to 64 letters, digits, '.', '_', '-'.")
    role: Role
    password: str = PasswordField


class NewPassword(BaseModel):
    password: str = PasswordField


class NewRole(BaseModel):
    role: Role


class UserChanged(BaseModel):
    username: str
    role: str | None = Field(default=None, description="The new role, when it changed.")
    sessions_ended: int = Field(description="The user's sessions the change ended.")


@router.get("", response_model=list[UserOut])
def list_all(database: DatabaseDep, actor: AdminActor) -> list[UserOut]:
    """Every user with their role, whether enabled and their live sessions (audited)."""
    with database.transaction() as session:
        return [UserOut.of(summary) for summary in list_users(session, actor=actor)]


@router.post("", response_model=UserOut, status_code=201)
def add(request: NewUser, database: DatabaseDep, actor: AdminActor) -> UserOut:
    """Add a user who can sign in; 422 names what is wrong with the name or password."""
    with database.transaction() as session:
        user = create_user(session, request.username, request.role, request.password, actor=actor)
        return UserOut(
            username=user.username,
            role=user.role,
            enabled=True,
            created_at=user.created_at,
            sessions=0,
        )


@router.post("/{username}/disable", response_model=UserChanged)
def disable(username: UsernamePath, database: DatabaseDep, actor: AdminActor) -> UserChanged:
    """Stop a user signing in and end their sessions; never oneself or the last admin."""
    with database.transaction() as session:
        ended = disable_user(session, username, actor=actor)
    return UserChanged(username=username, sessions_ended=ended)


@router.post("/{username}/enable", response_model=UserChanged)
def enable(username: UsernamePath, database: DatabaseDep, actor: AdminActor) -> UserChanged:
    """Let a disabled user sign in again (their old sessions stay ended)."""
    with database.transaction() as session:
        enable_user(session, username, actor=actor)
    return UserChanged(username=username, sessions_ended=0)


@router.post("/{username}/password", response_model=UserChanged)
def reset(
    username: UsernamePath, request: NewPassword, database: DatabaseDep, actor: AdminActor
) -> UserChanged:
    """Give a user a new password and end their sessions."""
    with database.transaction() as session:
        ended = reset_password(session, username, request.password, actor=actor)
    return UserChanged(username=username, sessions_ended=ended)


@router.post("/{username}/role", response_model=UserChanged)
def change_role(
    username: UsernamePath, request: NewRole, database: DatabaseDep, actor: AdminActor
) -> UserChanged:
    """Give a user another role and end their sessions; never the last admin's."""
    with database.transaction() as session:
        ended = set_role(session, username, request.role, actor=actor)
    return UserChanged(username=username, role=request.role.value, sessions_ended=ended)
