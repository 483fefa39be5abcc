"""US addresses: a one-line address split into parts; street types and directions abbreviated."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TypedDict

import usaddress

from caseline.standardise.values import CACHE_SIZE, InvalidValue, blank_to_none

# USPS Publication 28 abbreviations for the words that vary most between sources.
STREET_WORDS = {
    "STREET": "ST", "AVENUE": "AVE", "ROAD": "RD", "DRIVE": "DR", "LANE": "LN",
    "BOULEVARD": "BLVD", "COURT": "CT", "PLACE": "PL", "TERRACE": "TER", "CIRCLE": "CIR",
    "HIGHWAY": "HWY", "PARKWAY": "PKWY", "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W",
    "APARTMENT": "APT", "SUITE": "STE", "#": "APT",
}  # fmt: skip
# A trailing unit: its word then the unit ("APT 3"), or the word glued to a number or broken
# by a stray space as typed ("APT14", "AP T14").
_UNIT = re.compile(r"\b(?:(?:APT|STE|UNIT)\b\s*(\S+)|(?:APT|UNIT|AP T|UN IT)(\d\S*))$")
# 'street, city, ST 12345', with or without a comma between city and state; and the same
# with no ZIP code.
_LINE_CITY_STATE = r"^(?P<line>.+?),\s*(?P<city>[^,\s][^,]*?)(?:,\s*|\s+)(?P<state>[A-Z]{2})"
_ONE_LINE = re.compile(_LINE_CITY_STATE + r"\s+(?P<zip>\d{5})(?:-\d{4})?$")
_ONE_LINE_NO_ZIP = re.compile(_LINE_CITY_STATE + "$")
_NUMBER = re.compile(r"^(\d+[A-Z]?)\s+(.+)$")


class AddressParts(TypedDict):
    street_number: str | None
    street: str | None
    unit: str | None
    city: str | None
    state: str | None
    postcode: str | None


@dataclass(frozen=True, slots=True)
class Address:
    street_number: str | None
    street: str | None
    unit: str | None
    city: str | None
    state: str | None
    postcode: str | None

    def parts(self) -> AddressParts:
        """The parts by the canonical record's field names."""
        return {
            "street_number": self.street_number, "street": self.street, "unit": self.unit,
            "city": self.city, "state": self.state, "postcode": self.postcode,
        }  # fmt: skip


NO_ADDRESS = Address(None, None, None, None, None, None)


@lru_cache(maxsize=CACHE_SIZE)
def normalise_street(line: str | None) -> tuple[str | None, str | None, str | None]:
    """'12 N. Main Street Apt. 3' -> ('12', 'N MAIN ST', '3')."""
    line = blank_to_none(line)
    if line is None:
        return None, None, None
    text = re.sub(r"[.,]", " ", line.upper()).replace("#", " # ")
    words = [STREET_WORDS.get(word, word) for word in text.split()]
    text = " ".join(words)
    unit = None
    if match := _UNIT.search(text):
        unit = match.group(1) or match.group(2)
        text = text[: match.start()].strip()
    number = None
    if match := _NUMBER.match(text):
        number, text = match.group(1), match.group(2)
    return number, text or None, unit


@lru_cache(maxsize=CACHE_SIZE)
def parse_address_line(value: str | None) -> Address:
    """'12 Main St, Springfield, IL 62704' -> parts; refuses a line it cannot split.

    The common 'street, city, ST 12345' form (the comma before the state, or the ZIP code,
    may be missing) is read directly; anything else goes to
    usaddress's trained parser (slower, so second), which copes with missing commas,
    directions, units and PO boxes.
    """
    value = blank_to_none(value)
    if value is None:
        return NO_ADDRESS
    upper = value.upper()
    match = _ONE_LINE.match(upper) or _ONE_LINE_NO_ZIP.match(upper)
    if match is not None:
        number, street, unit = normalise_street(match["line"])
        postcode = match.groupdict().get("zip")
        return Address(number, street, unit, match["city"].strip(), match["state"], postcode)
    return _parsed_by_usaddress(value)


_STREET_PARTS = (
    "StreetNamePreModifier", "StreetNamePreDirectional", "StreetNamePreType", "StreetName",
    "StreetNamePostType", "StreetNamePostDirectional", "StreetNamePostModifier",
)  # fmt: skip


def _parsed_by_usaddress(value: str) -> Address:
    try:
        parts, kind = usaddress.tag(value)
    except usaddress.RepeatedLabelError:
        raise InvalidValue(f"address {value!r} has two of some part (two streets?)") from None
    street: str | None
    if kind == "PO Box":
        street = " ".join(filter(None, (parts.get("USPSBoxType"), parts.get("USPSBoxID"))))
        number, unit = None, None
    else:
        line = " ".join(filter(None, (parts.get("AddressNumber"), *map(parts.get, _STREET_PARTS))))
        number, street, street_unit = normalise_street(line)
        # A unit the tagger left in the street ('Short Forks # 25') is the street's.
        unit = _clean_unit(parts.get("OccupancyIdentifier")) or street_unit
    if not street:
        raise InvalidValue(f"address {value!r} has no street")
    city = (parts.get("PlaceName") or "").strip(" ,").upper() or None
    state = (parts.get("StateName") or "").strip(" ,.").upper() or None
    postcode = (parts.get("ZipCode") or "")[:5] or None
    return Address(number, street.upper(), unit.upper() if unit else None, city, state, postcode)


def _clean_unit(text: str | None) -> str | None:
    """A unit as the tagger found it ('AP T14', '# 3', 'Ste 200', 'B 2'), read as a street
    line's unit is read ('14', '3', '200', 'B2'), so a line and its parts written back agree."""
    words = re.sub(r"[.,#]", " ", (text or "").upper()).split()
    if not words:
        return None
    cleaned = " ".join(words)
    match = _UNIT.search(cleaned) or _UNIT.search(f"APT {cleaned}")
    # A unit is one token on a street line ('APT 12B'); 'B 2' is written 'B2' there.
    return (match.group(1) or match.group(2)) if match else "".join(words)
