"""Sign in and out of the API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from caseline.api.deps import DatabaseDep, SettingsDep, session_token
from caseline.oversight import sign_in, sign_out

router = APIRouter(prefix="/sessions", tags=["sessions"])


class Credentials(BaseModel):
    username: str
    password: str


class SessionToken(BaseModel):
    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret


@router.post("", response_model=SessionToken)
def create_session(
    credentials: Credentials, database: DatabaseDep, settings: SettingsDep
) -> SessionToken:
    """Exchange a username and password for a bearer token."""
    with database.transaction() as session:
        token = sign_in(
            session, credentials.username, credentials.password, hours=settings.session_hours
        )
    return SessionToken(token=token)


@router.delete("", status_code=204)
def delete_session(request: Request, database: DatabaseDep) -> None:
    """End the session whose token is presented (a no-op for an unknown token)."""
    token = session_token(request)
    if token:
        with database.transaction() as session:
            sign_out(session, token)
