"""`caseline login`, `caseline logout` and `caseline users ...`: who may sign in, with which
role. Passwords come from a hidden prompt or standard input, never from an argument (which
any user of the machine could read in the process list)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from caseline.cli.app import (
    Workspace,
    app,
    console,
    fail,
    read_password,
    save_token,
    saved_token,
    workspace,
)
from caseline.oversight import (
    Role,
    SessionPolicy,
    add_first_admin,
    create_user,
    disable_user,
    enable_user,
    has_users,
    list_users,
    reset_password,
    set_role,
    sign_in,
    sign_out,
)

users_app = typer.Typer(help="Manage who may sign in (admins).", no_args_is_help=True)
app.add_typer(users_app, name="users")

PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input."
    ),
]


@app.command()
def login(
    username: Annotated[str, typer.Argument(help="The Caseline user to act as.")],
    password_stdin: PasswordStdin = False,
    print_token: Annotated[
        bool,
        typer.Option(help="Print the session token (for CASELINE_TOKEN) instead of saving it."),
    ] = False,
) -> None:
    """Sign in: the next commands act as this user, with their role, until the session ends
    (CASELINE_SESSION_HOURS, or CASELINE_SESSION_IDLE_MINUTES without a command)."""
    password = read_password(password_stdin, confirm=False)
    with workspace() as ws:
        token = sign_in(
            ws.database, username, password, policy=SessionPolicy.of(ws.settings), client="cli"
        )
        if print_token:
            typer.echo(token)
            return
        _end_saved_session(ws)
        save_token(ws.settings, token)
    console.print(f"signed in as {username}")


@app.command()
def logout() -> None:
    """End the session `caseline login` saved, on the server too."""
    with workspace() as ws:
        _end_saved_session(ws)
        save_token(ws.settings, None)
    console.print("signed out")


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Name to sign in with (not case-sensitive).")],
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user who can sign in. An admin (signed in with `caseline login`) adds users; the
    workspace's first user, added by whoever set the workspace up, must be an admin."""
    password = read_password(password_stdin, confirm=True)
    with workspace() as ws, ws.database.transaction() as session:
        if has_users(session):
            create_user(session, username, role, password, actor=ws.actor(session))
        elif role is Role.ADMIN:
            add_first_admin(session, username, password)
        else:
            fail("the workspace has no users yet: its first user must be an admin (--role admin)")
    console.print(f"added {username} ({role.value})")


@users_app.command("list")
def users_list() -> None:
    """Every user: role, enabled or not, live sessions (to standard output, tab-separated)."""
    with workspace() as ws, ws.database.transaction() as session:
        found = list_users(session, actor=ws.actor(session))
    typer.echo("username\trole\tenabled\tsessions\tcreated")
    for user in found:
        created = user.created_at.astimezone(dt.UTC) if user.created_at.tzinfo else user.created_at
        typer.echo(
            f"{user.username}\t{user.role}\t{'yes' if user.enabled else 'no'}\t"
            f"{user.sessions}\t{created:%Y-%m-%d}"
        )


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument(help="The user to disable.")]) -> None:
    """Stop a user signing in, and end every session they have."""
    with workspace() as ws, ws.database.transaction() as session:
        ended = disable_user(session, username, actor=ws.actor(session))
    console.print(f"disabled {username}; {ended} session(s) ended")


@users_app.command("enable")
def users_enable(username: Annotated[str, typer.Argument(help="The user to enable.")]) -> None:
    """Let a disabled user sign in again."""
    with workspace() as ws, ws.database.transaction() as session:
        enable_user(session, username, actor=ws.actor(session))
    console.print(f"enabled {username}")


@users_app.command("reset-password")
def users_reset_password(
    username: Annotated[str, typer.Argument(help="The user whose password to set.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Give a user a new password, and end every session they have."""
    password = read_password(password_stdin, confirm=True)
    with workspace() as ws, ws.database.transaction() as session:
        ended = reset_password(session, username, password, actor=ws.actor(session))
    console.print(f"password of {username} reset; {ended} session(s) ended")


@users_app.command("set-role")
def users_set_role(
    username: Annotated[str, typer.Argument(help="The user whose role to change.")],
    role: Annotated[Role, typer.Option(help="The new role.")],
) -> None:
    """Give a user another role, and end every session they have."""
    with workspace() as ws, ws.database.transaction() as session:
        ended = set_role(session, username, role, actor=ws.actor(session))
    console.print(f"{username} is now {role.value}; {ended} session(s) ended")


def _end_saved_session(ws: Workspace) -> None:
    token = saved_token(ws.settings)
    if token:
        with ws.database.transaction() as session:
            sign_out(session, token)
