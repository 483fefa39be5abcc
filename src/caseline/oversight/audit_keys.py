"""The audit trail's key: a secret kept in a file outside the database, never in it.

Someone who can write to the database but cannot read this file cannot forge an event's
keyed hash, nor a checkpoint's signature. The file also names the newest event that was
hashed before the trail was keyed (``legacy-until``), so that rewriting the whole trail in
the old unkeyed scheme is found without any checkpoint.

The file is text, readable by its owner only::

    # Caseline audit key: keep it outside the database, readable by its owner only.
    key 5f0c...(64 hex digits)
    legacy-until 0 0000...(the newest unkeyed event's number and hash; 0 if none)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from caseline.config import load_settings
from caseline.errors import StateError

GENESIS_HASH = "0" * 64
KEYED_PREFIX = "k1:"  # an event hashed with HMAC-SHA256 under the audit key, scheme 1
_HEADER = "# Caseline audit key: keep it outside the database, readable by its owner only."


@dataclass(frozen=True, slots=True)
class AuditKey:
    """The secret, where it was read from, and the unkeyed events it vouches for."""

    secret: bytes
    path: Path
    legacy_seq: int = 0
    legacy_hash: str = GENESIS_HASH

    @property
    def key_id(self) -> str:
        """A short public name for the key: a checkpoint says which key signed it."""
        return hashlib.sha256(b"caseline-audit-key-id:" + self.secret).hexdigest()[:16]

    def mac(self, purpose: str, payload: str) -> str:
        """HMAC-SHA256 over ``payload``, separated by ``purpose`` (events, checkpoints)."""
        message = f"{purpose}\n{payload}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


def is_keyed(event_hash: str) -> bool:
    return event_hash.startswith(KEYED_PREFIX)


def audit_key_path(session: Session) -> Path:
    """The key file of the database ``session`` is bound to (``CASELINE_AUDIT_KEY_FILE``,
    else beside a SQLite database file, else in ``CASELINE_HOME``)."""
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    settings = (os.environ.get(name) for name in _KEY_PATH_SETTINGS)
    return _key_path(url, str(Path.cwd()), *settings)


# What the key's path depends on besides the URL (the folder a relative home is read in,
# and two settings): reading every setting again on each audited request took longer than
# the rest of recording the event.
_KEY_PATH_SETTINGS = ("CASELINE_AUDIT_KEY_FILE", "CASELINE_HOME")


@functools.lru_cache(maxsize=64)
def _key_path(url: str, _folder: str, *_settings: str | None) -> Path:
    return load_settings(database_url=url).audit_key_path


def read_key(path: Path) -> AuditKey | None:
    """The key in ``path``, or None if there is no file; a damaged file is an error."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    fields = dict(
        line.split(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    try:
        secret = bytes.fromhex(fields["key"])
        legacy_seq, legacy_hash = fields.get("legacy-until", f"0 {GENESIS_HASH}").split()
        if len(secret) < 32:
            raise ValueError("key shorter than 32 bytes")
        return AuditKey(secret, path, int(legacy_seq), legacy_hash)
    except (KeyError, ValueError) as exc:
        raise StateError(f"{path}: not a Caseline audit key file ({exc})") from None


def create_key(path: Path, *, legacy_seq: int, legacy_hash: str) -> AuditKey:
    """Make a new key in ``path`` (owner-only), unless another process just made one: then
    that one is returned. Never replaces an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    staged = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(f"{_HEADER}\nkey {secret.hex()}\nlegacy-until {legacy_seq} {legacy_hash}\n")
    try:
        os.link(staged, path)  # atomic, and fails if a key is already there
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
    key = read_key(path)
    assert key is not None
    return key
