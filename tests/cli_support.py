"""The users a command-line test acts as, added through the command line itself, and the
session tokens the commands act with (`caseline login`)."""

from collections.abc import Mapping

from typer.testing import CliRunner

from caseline.cli import app

CLI_PASSWORD = "a cli test password"
CLI_USERS = {"engineer": "data_engineer", "auditor": "auditor", "analyst": "analyst"}


def add_cli_users(runner: CliRunner) -> None:
    """An admin (the workspace's first user), then one user per role in CLI_USERS.

    The workspace is the one CASELINE_HOME / DATABASE_URL name; a command then acts as the
    user whose token CASELINE_TOKEN holds (see :func:`cli_login`).
    """
    first = runner.invoke(
        app, ["users", "add", "admin", "--role", "admin", "--password-stdin"], input=CLI_PASSWORD
    )
    assert first.exit_code == 0, first.output
    admin = cli_login(runner, "admin")
    for name, role in CLI_USERS.items():
        added = runner.invoke(
            app,
            ["users", "add", name, "--role", role, "--password-stdin"],
            input=CLI_PASSWORD,
            env=admin,
        )
        assert added.exit_code == 0, added.output


def cli_login(
    runner: CliRunner,
    username: str,
    password: str = CLI_PASSWORD,
    env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Sign in through `caseline login --print-token`; the environment a command then acts
    as ``username`` in (with ``env``, the workspace it names)."""
    result = runner.invoke(
        app, ["login", username, "--password-stdin", "--print-token"], input=password, env=env
    )
    assert result.exit_code == 0, result.output
    return {**(env or {}), "CASELINE_TOKEN": result.stdout.strip()}
