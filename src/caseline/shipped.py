"""Versioned JSON models: a fitted file, or the one shipped inside a Caseline package.

The shipped file is read and parsed once per process (profiles score addresses on every
read); a refused version says which file and which version this Caseline reads.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from caseline.errors import InputError


def read_versioned_json(
    path: Path | None, *, package: str, name: str, version: str
) -> dict[str, Any]:
    """The JSON at ``path``, or ``name`` shipped in ``package``, if it is ``version``."""
    stored = json.loads(path.read_text()) if path is not None else _shipped(package, name)
    if stored.get("version") != version:
        raise InputError(
            f"model is version {stored.get('version')!r}; this Caseline reads {version!r}",
            where=str(path or f"{package}/{name}"),
        )
    return stored


@lru_cache(maxsize=8)
def _shipped(package: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(resources.files(package).joinpath(name).read_text())
    return loaded
