"""Profiles: what is known of a resolved person, with the records behind it.

Public entry points: :func:`search_persons` and :func:`read_profile`; both check the
access policy and write the audit event in the caller's transaction.
"""

from caseline.profiles.profile import AttributeValue, Profile, ProfileRecord, read_profile
from caseline.profiles.search import PersonSummary, search_persons

__all__ = [
    "AttributeValue",
    "PersonSummary",
    "Profile",
    "ProfileRecord",
    "read_profile",
    "search_persons",
]
