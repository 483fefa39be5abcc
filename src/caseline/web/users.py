"""The users page (admins): every user with their role and state, and the forms that add
one, disable or enable one, reset a password and change a role. Thin: parse, call
:mod:`caseline.oversight`, which audits each change, and render.

A change is posted from this page (the session's origin is checked by ``Authorized``, as for
every form) and answered by a redirect back to the list, which says what was done; a refused
change shows the page again with the reason.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caseline.api.deps import Authorized, DatabaseDep
from caseline.db import Database
from caseline.errors import InputError, NotFoundError, StateError
from caseline.oversight import (
    Actor,
    Permission,
    Role,
    create_user,
    disable_user,
    enable_user,
    list_users,
    reset_password,
    set_role,
)
from caseline.web.templating import href, templates

router = APIRouter(include_in_schema=False)
Admin = Annotated[Actor, Authorized(Permission.MANAGE_USERS)]
Username = Annotated[str, Path(max_length=64)]
NewPassword = Annotated[str, Form(max_length=1024)]
RoleField = Annotated[str, Form(max_length=32)]
REFUSED = (InputError, NotFoundError, StateError)
# What a redirect back to the list says was done (the name is shown escaped).
DONE = {
    "added": "added",
    "disabled": "disabled",
    "enabled": "enabled again",
    "reset": "given a new password",
    "role": "given a new role",
}


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    database: DatabaseDep,
    actor: Admin,
    done: Annotated[str, Query(max_length=16)] = "",
    name: Annotated[str, Query(max_length=64)] = "",
    ended: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Every user (the listing is audited), and what the last change did."""
    notice = None
    if done in DONE and name:
        notice = f"{name} {DONE[done]}."
        if ended:
            notice += f" {ended} session{'' if ended == 1 else 's'} ended."
    return _page(request, database, actor, notice=notice, error=None, form={}, status_code=200)


@router.post("/users")
def add_user(
    request: Request,
    database: DatabaseDep,
    actor: Admin,
    username: Annotated[str, Form(max_length=256)],
    role: RoleField,
    password: NewPassword,
) -> Response:
    form = {"username": username, "role": role}
    try:
        with database.transaction() as session:
            user = create_user(session, username.strip(), _role(role), password, actor=actor)
            added = user.username
    except REFUSED as exc:
        return _refused(request, database, actor, exc, form=form)
    return _back("added", added)


@router.post("/users/{username}/disable")
def disable(request: Request, username: Username, database: DatabaseDep, actor: Admin) -> Response:
    try:
        with database.transaction() as session:
            ended = disable_user(session, username, actor=actor)
    except REFUSED as exc:
        return _refused(request, database, actor, exc, about=username)
    return _back("disabled", username, ended)


@router.post("/users/{username}/enable")
def enable(request: Request, username: Username, database: DatabaseDep, actor: Admin) -> Response:
    try:
        with database.transaction() as session:
            enable_user(session, username, actor=actor)
    except REFUSED as exc:
        return _refused(request, database, actor, exc, about=username)
    return _back("enabled", username)


@router.post("/users/{username}/password")
def reset(
    request: Request, username: Username, database: DatabaseDep, actor: Admin, password: NewPassword
) -> Response:
    try:
        with database.transaction() as session:
            ended = reset_password(session, username, password, actor=actor)
    except REFUSED as exc:
        return _refused(request, database, actor, exc, about=username)
    return _back("reset", username, ended)


@router.post("/users/{username}/role")
def change_role(
    request: Request, username: Username, database: DatabaseDep, actor: Admin, role: RoleField
) -> Response:
    try:
        with database.transaction() as session:
            ended = set_role(session, username, _role(role), actor=actor)
    except REFUSED as exc:
        return _refused(request, database, actor, exc, about=username)
    return _back("role", username, ended)


def _role(value: str) -> Role:
    try:
        return Role(value.strip())
    except ValueError:
        roles = ", ".join(role.value for role in Role)
        raise InputError(f"no role {value!r}; the roles are {roles}", where="role") from None


def _back(done: str, name: str, ended: int = 0) -> Response:
    return RedirectResponse(href("/users", done=done, name=name, ended=ended or None), 303)


def _refused(
    request: Request,
    database: Database,
    actor: Actor,
    exc: Exception,
    *,
    about: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    """The page again, saying why the change was refused; a form's values are kept (never
    the password)."""
    status = 404 if isinstance(exc, NotFoundError) else 409 if isinstance(exc, StateError) else 422
    error = f"{about}: {exc}" if about else str(exc)
    return _page(request, database, actor, notice=None, error=error, form=form or {},
                 status_code=status)  # fmt: skip


def _page(
    request: Request,
    database: Database,
    actor: Actor,
    *,
    notice: str | None,
    error: str | None,
    form: dict[str, str],
    status_code: int,
) -> Response:
    with database.transaction() as session:
        users = list_users(session, actor=actor)
    return templates.TemplateResponse(
        request,
        "users.html",
        {
            "actor": actor,
            "section": "users",
            "users": users,
            "roles": [role.value for role in Role],
            "notice": notice,
            "error": error,
            "form": form,
        },
        status_code=status_code,
    )
