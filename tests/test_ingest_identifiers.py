"""Stored identifier keys are byte-identical to their definitions, so existing workspaces
keep matching whatever the code that computes them."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from caseline.standardise import half_keys, keyed_hash, stored_match_keys, typo_keys

KEYS = [b"", b"k", b"x" * 32, b"y" * 64, b"z" * 65, bytes(range(200))]
VALUES = [
    ("ssn", "123456789"),
    ("a_number", "012345678"),
    ("passport_number", "AB12345"),
    ("licence_number", "ABCDEFGHIJKLMN"),
    ("other_id", "É9x"),
    ("ssn", "1"),
    ("ssn", "112233"),
]


def _short(text: str, key: bytes, size: int) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), key=key[:64], digest_size=size).digest())


@pytest.mark.parametrize("key", KEYS)
def test_keyed_hash_is_hmac_sha256(key: bytes) -> None:
    for kind, value in VALUES:
        expected = hmac.digest(key, f"{kind}:{value}".encode(), "sha256").hex()
        assert keyed_hash.__wrapped__(kind, value, key) == expected


@pytest.mark.parametrize("key", KEYS)
def test_typo_keys_are_keyed_blake2b_of_each_one_slip_form(key: bytes) -> None:
    for kind, value in VALUES:
        forms = {value} | {value[:i] + value[i + 1 :] for i in range(len(value))}
        expected = tuple(sorted(_short(f"{kind}:{form}", key, 5) for form in forms))
        assert typo_keys.__wrapped__(kind, value, key) == expected
        size = min(3, (len(value) - 1) // 2)
        halves = (
            _short(f"{kind}<{value[:size]}", key, 3),
            _short(f"{kind}>{value[len(value) - size :]}", key, 3),
        )
        assert half_keys(kind, value, key) == halves
        assert stored_match_keys(kind, value, key) == ",".join(map(str, (*halves, *expected)))


def test_stored_keys_of_a_known_number_never_change() -> None:
    assert keyed_hash("ssn", "123456789", b"k1") == (
        hmac.new(b"k1", b"ssn:123456789", "sha256").hexdigest()
    )
    assert stored_match_keys("ssn", "123456789", b"k1").split(",")[:2] == [
        str(_short("ssn<123", b"k1", 3)),
        str(_short("ssn>789", b"k1", 3)),
    ]
