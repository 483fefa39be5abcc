"""Identifiers: format checks where a format exists, and a keyed hash for matching."""

from __future__ import annotations

import hashlib
import hmac
import re

from caseline.standardise.values import InvalidValue, blank_to_none

_SSN = re.compile(r"^(\d{3})-?(\d{2})-?(\d{4})$")


def clean_ssn(value: str | None) -> str | None:
    """'123-45-6789' -> '123456789'; refuses numbers the SSA never issues (area 000/666/9xx)."""
    value = blank_to_none(value)
    if value is None:
        return None
    match = _SSN.match(value)
    if match is None:
        raise InvalidValue("SSN must be nine digits, as 123-45-6789")
    area, group, serial = match.groups()
    if area in ("000", "666") or area.startswith("9") or group == "00" or serial == "0000":
        raise InvalidValue("SSN is outside the ranges ever issued")
    return area + group + serial


def keyed_hash(kind: str, value: str, key: bytes) -> str:
    """HMAC-SHA256 of a cleaned identifier: equal values match, the raw value stays unknown."""
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
