"""Identifiers: format checks where a format exists, and keyed hashes for matching."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

from caseline.standardise.values import CACHE_SIZE, InvalidValue, blank_to_none

_SSN = re.compile(r"^(\d{3})[-. ]?(\d{2})[-. ]?(\d{4})$")  # 123-45-6789, 123 45 6789


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


_ITIN = re.compile(r"^9(\d{2})[-. ]?(\d{2})[-. ]?(\d{4})$")
_ITIN_GROUPS = frozenset([*range(50, 66), *range(70, 89), *range(90, 93), *range(94, 100)])
_A_NUMBER = re.compile(r"^A?-?(\d{7,9})$")
_PASSPORT = re.compile(r"^[A-Z0-9]{6,12}$")


def clean_tin(value: str | None) -> tuple[str, str] | None:
    """A taxpayer number as ('ssn' | 'itin', nine digits): ITINs start with 9, SSNs never do."""
    value = blank_to_none(value)
    if value is None:
        return None
    match = _ITIN.match(value)
    if match is None:
        ssn = clean_ssn(value)
        return ("ssn", ssn) if ssn else None
    if int(match.group(2)) not in _ITIN_GROUPS:
        raise InvalidValue("ITIN group digits are outside the ranges the IRS issues")
    return "itin", "9" + "".join(match.groups())


def clean_a_number(value: str | None) -> str | None:
    """'A012345678', 'A-12345678' or '12345678' -> nine digits, zero-padded."""
    value = blank_to_none(value)
    if value is None:
        return None
    match = _A_NUMBER.match(value.upper().replace(" ", ""))
    if match is None:
        raise InvalidValue("A-number must be 'A' and 7 to 9 digits")
    return match.group(1).zfill(9)


def clean_passport(value: str | None) -> str | None:
    """Passport numbers: letters and digits only, 6 to 12 of them."""
    value = blank_to_none(value)
    if value is None:
        return None
    cleaned = value.upper().replace(" ", "").replace("-", "")
    if _PASSPORT.match(cleaned) is None:
        raise InvalidValue("passport number must be 6 to 12 letters and digits")
    return cleaned


@lru_cache(maxsize=CACHE_SIZE)
def keyed_hash(kind: str, value: str, key: bytes) -> str:
    """HMAC-SHA256 of a cleaned identifier: equal values match, the raw value stays unknown."""
    inner, outer = _hmac_states(key)
    digest = inner.copy()
    digest.update(f"{kind}:{value}".encode())
    result = outer.copy()
    result.update(digest.digest())
    hex_digest: str = result.hexdigest()
    return hex_digest


@lru_cache(maxsize=16)
def _hmac_states(key: bytes) -> tuple[Any, Any]:
    """HMAC's inner and outer SHA-256 states after the padded key (RFC 2104), so each value
    costs two copies and no key schedule: the same digest as ``hmac.digest``, in a third of
    the time."""
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    return (
        hashlib.sha256(bytes(b ^ 0x36 for b in padded)),
        hashlib.sha256(bytes(b ^ 0x5C for b in padded)),
    )


TYPO_KEY_BYTES = 5  # 40 bits: two different numbers share a key by chance once in ~1e12
HALF_KEY_BYTES = 3  # 24 bits: only a quick test that spares most pairs the sets' comparison


def _short_hash(text: str, key: bytes, size: int) -> int:
    hasher = _keyed_blake2b(key, size).copy()  # the key's block is hashed once, not per call
    hasher.update(text.encode())
    return int.from_bytes(hasher.digest())


@lru_cache(maxsize=16)
def _keyed_blake2b(key: bytes, size: int) -> Any:
    return hashlib.blake2b(key=key[:64], digest_size=size)


@lru_cache(maxsize=CACHE_SIZE)
def typo_keys(kind: str, value: str, key: bytes) -> tuple[int, ...]:
    """Keyed hashes of a cleaned identifier and of each form of it with one character left
    out. Two numbers one slip apart (a digit mistyped, two neighbours exchanged, one dropped
    or doubled) share one of them, so a clerk's typo can be told from another person's
    number while the numbers themselves stay unknown, as with `keyed_hash`."""
    base = _keyed_blake2b(key, TYPO_KEY_BYTES)
    from_bytes = int.from_bytes
    prefix = f"{kind}:".encode()
    encoded = value.encode()
    if len(encoded) == len(value):  # ASCII: a character is a byte, so cut the bytes
        forms = {encoded} | {encoded[:i] + encoded[i + 1 :] for i in range(len(encoded))}
    else:
        texts = {value} | {value[:i] + value[i + 1 :] for i in range(len(value))}
        forms = {text.encode() for text in texts}
    hashes = []
    for form in forms:
        hasher = base.copy()
        hasher.update(prefix + form)
        hashes.append(from_bytes(hasher.digest()))
    hashes.sort()
    return tuple(hashes)


def stored_match_keys(kind: str, value: str, key: bytes) -> str:
    """The number's half keys, then its typo keys, as stored ('h,h,k,k,...')."""
    return ",".join(map(str, (*half_keys(kind, value, key), *typo_keys(kind, value, key))))


@lru_cache(maxsize=CACHE_SIZE)
def half_keys(kind: str, value: str, key: bytes) -> tuple[int, int]:
    """Keyed hashes of the number's first and last three characters (fewer in numbers under
    seven characters, so that the two never meet). A slip that changes one or two
    neighbouring characters, or drops or doubles one, leaves one of them as it was; so two
    numbers that share neither are not one slip apart, and their typo keys need no
    comparing. (A slip between six and seven characters changes the length the halves are
    taken over; those few are missed.)"""
    size = min(3, (len(value) - 1) // 2)
    return (
        _short_hash(f"{kind}<{value[:size]}", key, HALF_KEY_BYTES),
        _short_hash(f"{kind}>{value[len(value) - size :]}", key, HALF_KEY_BYTES),
    )
