"""The users a command-line test acts as, added through the command line itself."""

from typer.testing import CliRunner

from caseline.cli import app

CLI_PASSWORD = "a cli test password"
CLI_USERS = {"engineer": "data_engineer", "auditor": "auditor", "analyst": "analyst"}


def add_cli_users(runner: CliRunner) -> None:
    """An admin (the workspace's first user), then one user per role in CLI_USERS.

    The workspace is the one CASELINE_HOME / DATABASE_URL name; a command then acts as the
    user CASELINE_USER names.
    """
    first = runner.invoke(
        app, ["users", "add", "admin", "--role", "admin", "--password", CLI_PASSWORD]
    )
    assert first.exit_code == 0, first.output
    for name, role in CLI_USERS.items():
        added = runner.invoke(
            app,
            ["users", "add", name, "--role", role, "--password", CLI_PASSWORD],
            env={"CASELINE_USER": "admin"},
        )
        assert added.exit_code == 0, added.output
