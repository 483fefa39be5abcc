"""Password hashing and the rules a new password must meet.

New hashes are argon2id (memory-hard, salted, parameters stored in the hash). Hashes made
before it (``scrypt$salt$digest``) still verify, and :func:`verify_password` says when a
stored hash should be replaced: the caller rehashes on the next successful sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from caseline.errors import InputError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
_HASHER = PasswordHasher()  # argon2id, the library's current recommended parameters
_LEGACY_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> tuple[bool, bool]:
    """(whether the password matches, whether the stored hash should be replaced)."""
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored), True
    try:
        _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    return True, _HASHER.check_needs_rehash(stored)


@cache
def dummy_hash() -> str:
    """A hash no password matches in practice: an unknown user costs the same as a known one."""
    return hash_password("no user has this password: " + hashlib.sha256(b"dummy").hexdigest())


def check_new_password(password: str, username: str) -> None:
    """Refuse a password that is short, common, or built from the username (InputError)."""
    where = "password"
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"password must be at least {MIN_PASSWORD_LENGTH} characters", where=where)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(f"password must be at most {MAX_PASSWORD_LENGTH} characters", where=where)
    folded = _fold(password)
    name = _fold(username)
    if name and (name in folded or folded in name):
        raise InputError("password must not contain the username", where=where)
    if len(set(folded)) <= 2:
        raise InputError("password must not repeat one or two characters", where=where)
    if folded in _common_passwords() or _strip_digits(folded) in _common_passwords():
        raise InputError("password is too common: choose another", where=where)


def _fold(value: str) -> str:
    return "".join(ch for ch in value.casefold() if not ch.isspace())


def _strip_digits(value: str) -> str:
    """``password2024`` and ``2024password`` are as common as ``password``."""
    return value.strip("0123456789!?.")


@cache
def _common_passwords() -> frozenset[str]:
    text = files("caseline.oversight").joinpath("common_passwords.txt").read_text("utf-8")
    entries = (line.strip() for line in text.splitlines())
    return frozenset(_fold(e) for e in entries if e and not e.startswith("#"))


def _verify_scrypt(password: str, stored: str) -> bool:
    _, salt_hex, digest_hex = stored.split("$")
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), **_LEGACY_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)
