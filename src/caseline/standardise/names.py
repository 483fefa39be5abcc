"""Person names: transliterated to ASCII, upper case, punctuation removed, split into parts."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from caseline.standardise.values import CACHE_SIZE, InvalidValue, blank_to_none

_NOT_NAME_CHARS = re.compile(r"[^A-Z' -]")
_SPACES = re.compile(r"\s+")
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
    """'José  O'Neil-Smith' -> 'JOSE ONEIL-SMITH'; blank -> None."""
    value = blank_to_none(value)
    if value is None:
        return None
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    upper = _NOT_NAME_CHARS.sub(" ", ascii_text.upper().replace(".", "")).replace("'", "")
    cleaned = _SPACES.sub(" ", upper).strip(" -")
    if not cleaned:
        raise InvalidValue(f"no letters in name {value!r}")
    return cleaned


@lru_cache(maxsize=CACHE_SIZE)
def split_full_name(value: str | None) -> ParsedName:
    """Split 'FAMILY, GIVEN MIDDLE' or 'Given Middle Family' (an optional Jr./Sr. suffix)."""
    if blank_to_none(value) is None:
        return NO_NAME
    assert value is not None
    if "," in value:
        family_raw, _, rest = value.partition(",")
        family = clean_name(family_raw)
        parts = (clean_name(rest) or "").split()
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
