"""`caseline tokens ...`: API tokens for scripts (admins). A token acts as the service
identity ``token:NAME`` with at most its role, until it expires or is revoked; it is printed
once, when made, and stored only hashed. Scripts send it as a bearer header to the API or set
CASELINE_TOKEN for the command line."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from caseline.cli.app import app, console, workspace
from caseline.oversight import Role, create_api_token, list_api_tokens, revoke_api_token

tokens_app = typer.Typer(help="API tokens for scripts (admins).", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Option(help="Name of the script's identity (token:NAME).")],
    role: Annotated[Role, typer.Option(help="The most the token may do (never admin).")],
    days: Annotated[int, typer.Option(help="Days until it expires (1 to 366).")] = 90,
) -> None:
    """Make a token and print it once, to standard output; only its hash is kept."""
    with workspace() as ws, ws.database.transaction() as session:
        issued = create_api_token(session, name=name, role=role, days=days, actor=ws.actor(session))
    summary = issued.summary
    console.print(
        f"token {summary.identity} ({summary.role}) until {summary.expires_at:%Y-%m-%d %H:%M} "
        "UTC; it is shown only now"
    )
    typer.echo(issued.token)


@tokens_app.command("list")
def tokens_list() -> None:
    """Every token: role, state, who made it, when it expires and was last used
    (to standard output, tab-separated); never the tokens themselves."""
    with workspace() as ws, ws.database.transaction() as session:
        found = list_api_tokens(session, actor=ws.actor(session))
    typer.echo("name\trole\tstate\tcreated_by\texpires\tlast_used")
    for token in found:
        typer.echo(
            f"{token.name}\t{token.role}\t{token.state}\t{token.created_by}\t"
            f"{_day(token.expires_at)}\t{_day(token.last_used_at)}"
        )


@tokens_app.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument(help="The token to revoke.")]) -> None:
    """Refuse the token from now on."""
    with workspace() as ws, ws.database.transaction() as session:
        revoked = revoke_api_token(session, name, actor=ws.actor(session))
    console.print(f"revoked {revoked.identity}")


def _day(value: dt.datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d}"
