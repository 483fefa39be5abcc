"""API tokens for scripts (admins): make one (shown once), list them, revoke one."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from caseline.api.deps import Authorized, DatabaseDep
from caseline.oversight import (
    Actor,
    ApiTokenSummary,
    Permission,
    Role,
    create_api_token,
    list_api_tokens,
    revoke_api_token,
)

router = APIRouter(prefix="/tokens", tags=["tokens"])
AdminActor = Annotated[Actor, Authorized(Permission.MANAGE_USERS)]


class TokenRequest(BaseModel):
    name: str = Field(max_length=64, description="Lower-case name of the script's identity.")
    role: Role = Field(description="The most the token may do; never admin.")
    days: int = Field(default=90, description="Days until it expires (1 to 366).")


class TokenOut(BaseModel):
    name: str
    identity: str  # the actor the audit trail names: token:NAME
    role: str
    state: str  # active, expired or revoked
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @classmethod
    def of(cls, summary: ApiTokenSummary) -> TokenOut:
        return cls(
            name=summary.name,
            identity=summary.identity,
            role=summary.role,
            state=summary.state,
            created_by=summary.created_by,
            created_at=summary.created_at,
            expires_at=summary.expires_at,
            revoked_at=summary.revoked_at,
            last_used_at=summary.last_used_at,
        )


class IssuedTokenOut(TokenOut):
    token: str = Field(description="The bearer token; shown this once, stored only hashed.")


@router.post("", response_model=IssuedTokenOut, status_code=201)
def create_token(request: TokenRequest, database: DatabaseDep, actor: AdminActor) -> IssuedTokenOut:
    """Make a token a script sends as `Authorization: Bearer clt_...` (audited)."""
    with database.transaction() as session:
        issued = create_api_token(
            session, name=request.name, role=request.role, days=request.days, actor=actor
        )
    return IssuedTokenOut(token=issued.token, **TokenOut.of(issued.summary).model_dump())


@router.get("", response_model=list[TokenOut])
def list_tokens(database: DatabaseDep, actor: AdminActor) -> list[TokenOut]:
    """Every token with its state, never the token itself (audited)."""
    with database.transaction() as session:
        return [TokenOut.of(summary) for summary in list_api_tokens(session, actor=actor)]


@router.delete("/{name}", response_model=TokenOut)
def revoke_token(name: str, database: DatabaseDep, actor: AdminActor) -> TokenOut:
    """Revoke a token: every later request with it is refused (audited)."""
    with database.transaction() as session:
        return TokenOut.of(revoke_api_token(session, name, actor=actor))
