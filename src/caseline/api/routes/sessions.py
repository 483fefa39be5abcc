"""Sign in and out of the API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from caseline.api.csrf import check_cookie_request
from caseline.api.deps import (
    DatabaseDep,
    SettingsDep,
    client_address,
    presented_token,
    session_policy,
)
from caseline.oversight import sign_in, sign_out

router = APIRouter(prefix="/sessions", tags=["sessions"])


class Credentials(BaseModel):
    username: str = Field(max_length=256)
    password: str = Field(max_length=1024)


class SessionToken(BaseModel):
    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret


@router.post(
    "",
    response_model=SessionToken,
    responses={
        403: {"description": "Unknown user or wrong password"},
        429: {"description": "Too many failed sign-ins"},
    },
)
def create_session(
    credentials: Credentials, request: Request, database: DatabaseDep, settings: SettingsDep
) -> SessionToken:
    """Exchange a username and password for a bearer token. Failed tries slow down and then
    lock the name and the client for a while (429, ``Retry-After``)."""
    token = sign_in(
        database,
        credentials.username,
        credentials.password,
        policy=session_policy(settings),
        client=client_address(request),
    )
    return SessionToken(token=token)


@router.delete("", status_code=204)
def delete_session(request: Request, database: DatabaseDep, settings: SettingsDep) -> None:
    """End the session whose token is presented (a no-op for an unknown token)."""
    token, from_cookie = presented_token(request)
    if not token:
        return
    if from_cookie:
        check_cookie_request(request, token, secure=settings.cookie_secure)
    with database.transaction() as session:
        sign_out(session, token)
