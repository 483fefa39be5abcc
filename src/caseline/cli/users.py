"""`caseline users add`: who may sign in, and with which role."""

from __future__ import annotations

from typing import Annotated

import typer

from caseline.cli.app import app, console, fail, workspace
from caseline.oversight import Role, add_first_admin, create_user, has_users

users_app = typer.Typer(help="Manage who may sign in.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Name to sign in with.")],
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Add a user who can sign in. An admin (CASELINE_USER) adds users; the workspace's first
    user, added by whoever set the workspace up, must be an admin."""
    with workspace() as ws, ws.database.transaction() as session:
        if has_users(session):
            create_user(session, username, role, password, actor=ws.actor(session))
        elif role is Role.ADMIN:
            add_first_admin(session, username, password)
        else:
            fail("the workspace has no users yet: its first user must be an admin (--role admin)")
    console.print(f"added {username} ({role.value})")
