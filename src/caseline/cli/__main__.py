"""`python -m caseline.cli`: the command line, as the `caseline` script runs it."""

from caseline.cli import app

app()
