"""The grounds of an enforcement action: what on the person's own records justifies it.

A case may be opened from a lead (on the person whose records the lead rests on) or by an
analyst on a person found by search, citing a lead or a reason. Either way, before anyone
acts, the server asks of the person the case names, as the records stand that day:

- the records the case was opened on (a lead's) are still this person's: a namesake's
  profile taken from a search does not carry another person's removal order;
- a lead rule finds grounds on the person's own records today (an order not carried out,
  a stay ended, a departure deadline passed);
- each record those grounds rest on gives the date of birth most of the person's records
  give, and no other date is given by two or more of them: an order whose date of birth is
  another (a day and month exchanged, say), or a person whose records keep giving two dates,
  may be a namesake's order joined to this person by resolution, or two persons in one (a
  father and son of one name); a record that gives no date then cannot say whose it is.
  Each stands until a legal reviewer has checked it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from caseline.cases.leads import findings
from caseline.profiles import PersonStatus
from caseline.profiles.record_identities import record_identities

# Another date of birth on this many of the person's records is another person's, maybe.
REPEATED_OTHER_BIRTH = 2


@dataclass(frozen=True, slots=True)
class DoubtedRecord:
    """A record the grounds rest on whose date of birth other records of the person dispute."""

    record_id: str
    born: dt.date | None  # None: the record gives none
    other: dt.date  # the date of birth the most of the person's other records give
    giving_other: int  # how many records give it

    def describe(self) -> str:
        gives = f"gives date of birth {self.born}" if self.born else "gives no date of birth"
        return f"record {self.record_id} {gives}; " \
            f"{self.giving_other} of the person's records give {self.other}"  # fmt: skip


@dataclass(frozen=True, slots=True)
class Grounds:
    """What the server found of the grounds on the day."""

    found: tuple[str, ...]  # what the lead rules find on the person's own records
    records: tuple[str, ...]  # the records those findings rest on
    cited_elsewhere: tuple[str, ...]  # records the case was opened on, no longer the person's
    doubted: tuple[DoubtedRecord, ...]


def assess_grounds(
    status: PersonStatus,
    cited: Sequence[str],
    own_records: frozenset[str],
    births: Mapping[str, dt.date],
    in_country_since: dt.date | None = None,
) -> Grounds:
    """The grounds from a person's status evidence, the records the case cites, the person's
    records, the date of birth each of them gives (records that give none left out) and the
    date of their first record at an address here."""
    found = list(findings(status, status.as_of, in_country_since))
    records = tuple(dict.fromkeys(r for *_, rest_on in found for r in rest_on))
    held = Counter(births.values())
    doubted: list[DoubtedRecord] = []
    repeated = [(n, day) for day, n in held.most_common() if n >= REPEATED_OTHER_BIRTH]
    for record_id in dict.fromkeys((*cited, *records)):
        born = births.get(record_id)
        if born is None:
            # Silent on the date while the person's records keep giving two: whose is it?
            if len(repeated) >= 2:
                doubted.append(DoubtedRecord(record_id, None, repeated[1][1], repeated[1][0]))
            continue
        others = [(n, day) for day, n in held.most_common() if day != born]
        if not others:
            continue
        giving, other = others[0]
        # More records give another date, or two or more do: a tie of one each is no doubt.
        if giving > held[born] or giving >= REPEATED_OTHER_BIRTH:
            doubted.append(DoubtedRecord(record_id, born, other, giving))
    return Grounds(
        found=tuple(sentence for _, sentence, _, _ in found),
        records=records,
        cited_elsewhere=tuple(r for r in cited if r not in own_records),
        doubted=tuple(doubted),
    )


def dates_of_birth(session: Session, person_ids: Sequence[str]) -> dict[str, dict[str, dt.date]]:
    """person -> record -> the date of birth the record gives, for records that give one."""
    found: dict[str, dict[str, dt.date]] = {}
    for r in record_identities(session, person_ids):
        if r.born is not None:
            found.setdefault(r.person_id, {})[r.record_id] = r.born
    return found


def cited_records(origin: Mapping[str, object]) -> tuple[str, ...]:
    """The records a case was opened on, as its origin keeps them."""
    records = origin.get("records") or ()
    return tuple(str(r) for r in records) if isinstance(records, list | tuple) else ()
