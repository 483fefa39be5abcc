"""How identifiers are stored: only as keyed hashes, and keyed hashes of their one-slip forms.

Equal numbers match and the numbers stay unknown (``standardise.keyed_hash``); the typo keys
let resolution see a mistyped number (``standardise.stored_match_keys``).
"""

from __future__ import annotations

from collections.abc import Sequence

from caseline.standardise import keyed_hash, stored_match_keys

# The canonical record's identifier -> the column that stores its hash.
HASHED = {
    "ssn": "ssn_hash",
    "itin": "itin_hash",
    "a_number": "a_number_hash",
    "passport_number": "passport_hash",
    "licence_number": "licence_hash",
    "other_id": "other_id_hash",
}


def stored_identifier(kind: str, raw: str | None, key: bytes) -> tuple[str | None, str | None]:
    """(its hash, its part of ``identifier_typo_keys``) for one identifier; blank: (None, None)."""
    if not raw:
        return None, None
    column = HASHED[kind]
    return keyed_hash(
        kind, raw, key
    ), f"{column.removesuffix('_hash')}:{stored_match_keys(kind, raw, key)}"


def typo_key_text(parts: Sequence[str | None]) -> str | None:
    """A record's ``identifier_typo_keys``: its identifiers' parts, in HASHED order."""
    return ";".join(filter(None, parts)) or None
