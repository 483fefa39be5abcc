"""Identifiers that are unique by construction: an affine bijection of a person's index.

Drawing identifiers at random would need a global set to avoid collisions across chunks that
run in parallel; a bijection of the global index needs none and is still unpredictable enough
that identifiers carry no visible order.
"""

from __future__ import annotations

from functools import cache
from math import gcd

_SSN_AREAS = [a for a in range(1, 900) if a != 666]
_SSN_SPACE = len(_SSN_AREAS) * 99 * 9999
_ITIN_GROUPS = [g for g in range(70, 100) if g not in (89, 93)]
_ITIN_SPACE = 100 * len(_ITIN_GROUPS) * 10000


@cache
def _multiplier(space: int) -> int:
    multiplier = 2_654_435_761 % space or 1
    while gcd(multiplier, space) != 1:
        multiplier += 1
    return multiplier


def _scramble(index: int, space: int, salt: int) -> int:
    return (index * _multiplier(space) + salt * 7_919) % space


def ssn(index: int, salt: int) -> str:
    """A valid SSN (area never 000, 666 or 9xx; group and serial never zero)."""
    k = _scramble(index, _SSN_SPACE, salt)
    area = _SSN_AREAS[k // (99 * 9999)]
    group = (k // 9999) % 99 + 1
    serial = k % 9999 + 1
    return f"{area:03d}-{group:02d}-{serial:04d}"


def itin(index: int, salt: int) -> str:
    """An ITIN: 9XX-GG-XXXX with a group in the ranges the IRS issues."""
    k = _scramble(index, _ITIN_SPACE, salt)
    area = k // (len(_ITIN_GROUPS) * 10000)
    group = _ITIN_GROUPS[(k // 10000) % len(_ITIN_GROUPS)]
    return f"9{area:02d}-{group:02d}-{k % 10000:04d}"


def a_number(index: int, salt: int) -> str:
    """An alien registration number: A followed by nine digits."""
    return f"A{_scramble(index, 10**9, salt + 1):09d}"


def passport(index: int, salt: int, version: int = 0) -> str:
    """A passport number; a renewed passport (version 1) has a different number."""
    k = _scramble(index * 2 + version, 26 * 26 * 10**7, salt + 3)
    first, rest = divmod(k, 26 * 10**7)
    second, digits = divmod(rest, 10**7)
    return f"{chr(65 + first)}{chr(65 + second)}{digits:07d}"


def licence(index: int, salt: int, state: str) -> str:
    """A driver licence number: the state's initial and eight digits."""
    return f"{state[0]}{_scramble(index, 10**8, salt + 5):08d}"


def record_key(prefix: str, chunk: int, counter: int, salt: int) -> str:
    """A source record key, unique across chunks: chunk and counter scrambled together."""
    return f"{prefix}{_scramble(chunk * 10**8 + counter, 10**12, salt):012d}"
