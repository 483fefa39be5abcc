"""The command line (Typer): one module per group of commands, each adding to one app.

Commands parse arguments, call a package entry point as the user CASELINE_USER names, and
print the result; they hold no queries and no domain logic.
"""

from caseline.cli import (
    audit,
    backup,
    cases,
    demo,
    departures,
    disputes,
    evaluate,
    export,
    ingest,
    policy,
    purposes,
    reports,
    resolve,
    retention,
    runs,
    serve,
    simulate,
    tokens,
    users,
    world,
)
from caseline.cli.app import app

__all__ = [
    "app",
    "audit",
    "backup",
    "cases",
    "demo",
    "departures",
    "disputes",
    "evaluate",
    "export",
    "ingest",
    "policy",
    "purposes",
    "reports",
    "resolve",
    "retention",
    "runs",
    "serve",
    "simulate",
    "tokens",
    "users",
    "world",
]
