"""Person names: transliterated to ASCII, upper case, punctuation removed, split into parts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from anyascii import anyascii
from nicknames import NickNamer

from caseline.standardise.values import CACHE_SIZE, InvalidValue, blank_to_none

_NOT_NAME_CHARS = re.compile(r"[^A-Z' -]")
_HYPHENS = re.compile(r"-{2,}")
_SUFFIXES = frozenset({"JR", "SR", "II", "III", "IV"})


@dataclass(frozen=True, slots=True)
class ParsedName:
    given: str | None
    middle: str | None
    family: str | None
    suffix: str | None = None


NO_NAME = ParsedName(None, None, None)


@lru_cache(maxsize=CACHE_SIZE)
def clean_name(value: str | None) -> str | None:
    """'José  O'Neil-Smith' -> 'JOSE ONEIL-SMITH', 'Đặng' -> 'DANG', 'Łukasz' -> 'LUKASZ',
    'Иванов' -> 'IVANOV'; blank -> None. anyascii transliterates letters that Unicode does
    not decompose (Đ, Ł, ß, Ø) and other scripts, which stripping accents would lose."""
    value = blank_to_none(value)
    if value is None:
        return None
    ascii_text = value if value.isascii() else anyascii(value)
    upper = _NOT_NAME_CHARS.sub(" ", ascii_text.upper().replace(".", "")).replace("'", "")
    # A hyphen joins two parts of one word ('ONEIL-SMITH'); at a word's edge it joins nothing.
    words = (word.strip("-") for word in _HYPHENS.sub("-", upper).split())
    cleaned = " ".join(word for word in words if word)
    if not cleaned:
        raise InvalidValue(f"no letters in name {value!r}")
    return cleaned


GIVEN_FIRST = "given_first"
FAMILY_FIRST = "family_first"
NAME_ORDERS = frozenset({GIVEN_FIRST, FAMILY_FIRST})


@lru_cache(maxsize=CACHE_SIZE)
def split_full_name(value: str | None, fmt: str = GIVEN_FIRST) -> ParsedName:
    """Split 'FAMILY, GIVEN MIDDLE', or 'Given Middle Family' (``fmt`` given_first), or
    'FAMILY GIVEN' (family_first: the first word is the family name, the rest the given
    name, as in 'NGUYEN VAN HUNG' or 'WANG XIAO MING'); a Jr./Sr. suffix is kept apart."""
    if blank_to_none(value) is None:
        return NO_NAME
    assert value is not None
    if "," in value:
        family_raw, _, rest = value.partition(",")
        family = clean_name(family_raw)
        parts = (clean_name(rest) or "").split()
    elif fmt == FAMILY_FIRST:
        words = (clean_name(value) or "").split()
        if len(words) < 2:
            return ParsedName(words[0] if words else None, None, None)
        suffix = words.pop() if words[-1] in _SUFFIXES and len(words) > 2 else None
        return ParsedName(" ".join(words[1:]), None, words[0], suffix)
    else:
        parts = (clean_name(value) or "").split()
        family = parts.pop() if len(parts) > 1 else None
    suffix = None
    if parts and parts[-1] in _SUFFIXES:
        suffix = parts.pop()
    family_words = (family or "").split()
    if len(family_words) > 1 and family_words[-1] in _SUFFIXES:
        suffix, family = family_words[-1], " ".join(family_words[:-1])
    elif family in _SUFFIXES and parts:
        suffix, family = family, parts.pop()
    given = parts[0] if parts else None
    middle = " ".join(parts[1:]) or None
    return ParsedName(given, middle, family, suffix)


@cache
def _nicknamer() -> NickNamer:
    return NickNamer()


@lru_cache(maxsize=CACHE_SIZE)
def given_name_equivalents(given: str | None) -> frozenset[str]:
    """The names a given name may be written as: itself, its nicknames, and the formal names
    it may be short for (BILL: WILLIAM, WILL, ...). Nicknames are ambiguous (SANDY may be
    ALEXANDER or SANDRA), so this is a set to intersect, never a single name to replace with."""
    if not given:
        return frozenset()
    first = given.split()[0].split("-")[0].lower()
    namer = _nicknamer()
    names = {first, *namer.nicknames_of(first), *namer.canonicals_of(first)}
    return frozenset(name.upper() for name in names)


# Articles and particles that records keep or drop: al-Amin / Amin, de la Cruz / Cruz.
_PARTICLES = frozenset({
    "AL", "EL", "ABU", "BIN", "BEN", "DE", "DEL", "DELA", "LA", "LAS", "LOS", "VAN", "VON", "DER",
    "DEN", "TER", "DI", "DA", "DOS", "DAS", "DU", "LE", "ST", "SAINT",
})  # fmt: skip


@lru_cache(maxsize=CACHE_SIZE)
def family_name_key(family: str | None) -> str | None:
    """The first surname without its particles, for comparing compound and two-part surnames:
    'GARCIA LOPEZ', 'GARCIA-LOPEZ' and 'GARCIA' share GARCIA; 'EL AMRANI' and 'AMRANI' too."""
    if not family:
        return None
    words = [w for w in family.replace("-", " ").split() if w not in _PARTICLES]
    return words[0] if words else family.split()[0]
