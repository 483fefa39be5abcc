"""Dependencies every route goes through: the database and the access policy.

No route reaches a person without ``Authorized(...)``: it establishes the actor from the
session token (bearer header or the web's cookie) and checks the role on the server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from caseline.config import Settings
from caseline.db import Database
from caseline.errors import AccessDenied
from caseline.oversight import Actor, Permission, actor_for_token, authorize

SESSION_COOKIE = "caseline_session"


class NotSignedIn(AccessDenied):
    """No valid session: the client should sign in (401), not be told it lacks a role (403)."""


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def session_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return token.strip()
    return request.cookies.get(SESSION_COOKIE)


def current_actor(request: Request, database: DatabaseDep) -> Actor:
    token = session_token(request)
    if not token:
        raise NotSignedIn("sign in first: no session token")
    with database.transaction() as session:
        try:
            return actor_for_token(session, token)
        except AccessDenied as exc:
            raise NotSignedIn(str(exc)) from None


CurrentActor = Annotated[Actor, Depends(current_actor)]


def authorized(permission: Permission) -> Callable[[Actor], Actor]:
    """A dependency that admits only actors whose role grants ``permission``."""

    def check(actor: CurrentActor) -> Actor:
        authorize(actor, permission)
        return actor

    return check


def Authorized(permission: Permission) -> object:  # noqa: N802 - reads as a type in signatures
    return Depends(authorized(permission))
