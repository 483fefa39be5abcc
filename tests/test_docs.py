"""The reference page documents every setting, command, audit event type and permission."""

import re
from pathlib import Path
from typing import Any

import typer.main

from caseline.cli import app
from caseline.config import Settings
from caseline.oversight import Permission, event_types

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference.md"


def _code_spans() -> set[str]:
    return set(re.findall(r"`([^`\n]+)`", REFERENCE.read_text(encoding="utf-8")))


def _commands(command: Any, prefix: str) -> list[str]:
    """Every runnable command path under ``command`` (a group that runs alone counts too)."""
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return [prefix]
    found = [prefix] if command.invoke_without_command else []
    for name, sub in subcommands.items():
        found += _commands(sub, f"{prefix} {name}")
    return found


def test_every_setting_is_documented() -> None:
    prefix = Settings.model_config.get("env_prefix", "")
    names = [
        str(field.validation_alias or f"{prefix}{name}").upper()
        for name, field in Settings.model_fields.items()
    ]
    assert len(names) >= 5
    assert [n for n in names if n not in _code_spans()] == []


def test_every_command_is_documented() -> None:
    commands = _commands(typer.main.get_command(app), "caseline")
    assert {"caseline ingest", "caseline users add", "caseline evaluate addresses"} <= set(commands)
    spans = _code_spans()
    assert [c for c in commands if c not in spans] == []


def test_every_audit_event_type_is_documented() -> None:
    actions = [kind.action for kind in event_types()]
    assert "read_person" in actions
    assert [a for a in actions if a not in _code_spans()] == []


def test_every_permission_is_documented() -> None:
    assert [p.value for p in Permission if p.value not in _code_spans()] == []
