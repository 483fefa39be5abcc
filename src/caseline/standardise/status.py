"""The immigration status vocabulary: what a record can say about a person's right to stay.

Every source's own words (a benefit granted, a hearing's outcome, a passport's nationality, a
mapped file's ``status`` column) are read into these terms, so that a case's status guard asks
one question of any source: does a record show that this person may be here?
"""

from __future__ import annotations

from enum import StrEnum

from caseline.standardise.values import InvalidValue


class StatusTerm(StrEnum):
    CITIZEN = "citizen"
    NATURALISED_CITIZEN = "naturalised_citizen"
    PERMANENT_RESIDENT = "permanent_resident"
    VALID_VISA = "valid_visa"
    EXPIRED_VISA = "expired_visa"
    PENDING_APPLICATION = "pending_application"
    DENIED_APPLICATION = "denied_application"
    PROTECTED_STATUS = "protected_status"
    RELIEF_GRANTED = "relief_granted"
    IN_PROCEEDINGS = "in_proceedings"
    REMOVAL_ORDER = "removal_order"
    VOLUNTARY_DEPARTURE = "voluntary_departure"
    UNCLEAR = "unclear"  # a status record whose meaning Caseline cannot tell


# A record with one of these terms shows the person may lawfully be here: it stops a case
# until a legal reviewer clears it. UNCLEAR stops it too, since it might be one of them.
PROTECTIVE = frozenset(
    {
        StatusTerm.CITIZEN,
        StatusTerm.NATURALISED_CITIZEN,
        StatusTerm.PERMANENT_RESIDENT,
        StatusTerm.VALID_VISA,
        StatusTerm.PENDING_APPLICATION,
        StatusTerm.PROTECTED_STATUS,
        StatusTerm.RELIEF_GRANTED,
    }
)
STOPPING = PROTECTIVE | {StatusTerm.UNCLEAR}

# Words a mapped file may use for each term (case, spaces, hyphens and underscores ignored).
_SYNONYMS: dict[StatusTerm, tuple[str, ...]] = {
    StatusTerm.CITIZEN: ("citizen", "us citizen", "citizen by birth", "born citizen"),
    StatusTerm.NATURALISED_CITIZEN: ("naturalised citizen", "naturalized citizen", "naturalised",
                                     "naturalized"),
    StatusTerm.PERMANENT_RESIDENT: ("permanent resident", "lpr", "lawful permanent resident",
                                    "green card"),
    StatusTerm.VALID_VISA: ("valid visa", "visa", "nonimmigrant visa", "visa valid"),
    StatusTerm.EXPIRED_VISA: ("expired visa", "visa expired", "overstay"),
    StatusTerm.PENDING_APPLICATION: ("pending application", "application pending", "pending",
                                     "pending asylum", "asylum pending"),
    StatusTerm.DENIED_APPLICATION: ("denied application", "application denied", "denied"),
    StatusTerm.PROTECTED_STATUS: ("protected status", "temporary protected status", "tps",
                                  "asylee", "refugee"),
    StatusTerm.RELIEF_GRANTED: ("relief granted", "relief", "asylum granted"),
    StatusTerm.IN_PROCEEDINGS: ("in proceedings", "proceedings"),
    StatusTerm.REMOVAL_ORDER: ("removal order", "final removal order", "ordered removed",
                               "deportation order"),
    StatusTerm.VOLUNTARY_DEPARTURE: ("voluntary departure",),
}  # fmt: skip
_BY_WORDS = {words: term for term, synonyms in _SYNONYMS.items() for words in synonyms}


def _words(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").replace("_", " ").split())


def clean_status(text: str) -> StatusTerm:
    """A status term from a file's own words; raises InvalidValue (kept as a value issue) for
    words Caseline does not know, naming the vocabulary."""
    found = _BY_WORDS.get(_words(text))
    if found is None:
        known = ", ".join(term.value for term in StatusTerm if term is not StatusTerm.UNCLEAR)
        raise InvalidValue(f"{text!r} is not a status Caseline knows ({known})")
    return found
