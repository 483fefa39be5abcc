"""The ground truth a simulation of cases is counted against: each record's true person, and
each true person's status and current address on the as-of date.

Two CSV files (docs/cases.md, "Measuring wrongful actions"): the records file of
`caseline evaluate` (``source``, ``source_key``, ``entity_id``) and a persons file
(``entity_id``, ``status``, ``current_address``), which a generated world writes as
``truth.csv`` and ``persons.csv``. Any data set with truth in this form can be simulated on.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from caseline.errors import InputError
from caseline.profiles.address_evidence import address_key
from caseline.resolve.evaluation import read_truth
from caseline.standardise import InvalidValue
from caseline.standardise.addresses import parse_address_line

# A person with one of these statuses may lawfully be here: no case should act against them.
PROTECTED_STATUSES = frozenset(
    {
        "citizen_birth", "citizen_naturalised", "permanent_resident", "visa_valid",
        "pending_asylum", "pending_adjustment", "temporary_protected",
    }
)  # fmt: skip
# A removal or departure case may act on a person with one of these: a final order not
# carried out, a visa that ran out, a departure deadline passed with no exit. Any other word
# (a voluntary departure still within its deadline, one departed) is neither.
ACTIONABLE_STATUSES = frozenset(
    {"final_removal_order", "visa_expired", "voluntary_departure_overdue"}
)
PERSON_COLUMNS = ("entity_id", "status", "current_address")
_STATUS_WORD = re.compile(r"^[a-z][a-z_]*$")


@dataclass(frozen=True, slots=True)
class TruePerson:
    status: str
    address_key: str | None  # the current address, keyed as address confidence keys it

    @property
    def protected(self) -> bool:
        return self.status in PROTECTED_STATUSES

    @property
    def actionable(self) -> bool:
        """A case may rightly act: a status a case acts on, and somewhere to act."""
        return self.status in ACTIONABLE_STATUSES and self.address_key is not None


@dataclass(frozen=True, slots=True)
class GroundTruth:
    entity_of: Mapping[str, str]  # record id (and its typed-key twin) -> true entity
    persons: Mapping[str, TruePerson]

    def majority(self, record_ids: Iterable[str]) -> str | None:
        """The true entity holding most of these records (ties: the first listed)."""
        counts = Counter(e for e in map(self.entity_of.get, record_ids) if e is not None)
        return counts.most_common(1)[0][0] if counts else None


def read_ground_truth(records_path: Path, persons_path: Path) -> GroundTruth:
    """Both truth files; InputError naming the file and line of anything unreadable."""
    entity_of: dict[str, str] = {}
    for t in read_truth(records_path):
        entity_of[t.record_id] = t.entity_id
        if t.alternative_id:
            entity_of.setdefault(t.alternative_id, t.entity_id)
    return GroundTruth(entity_of, read_true_persons(persons_path))


def read_true_persons(path: Path) -> dict[str, TruePerson]:
    """entity id -> status and current address key, from a CSV with ``entity_id``,
    ``status`` and ``current_address`` (blank: no current address; ``address`` is read when
    there is no ``current_address`` column)."""
    if not path.is_file():
        raise InputError("no such file", where=str(path))
    persons: dict[str, TruePerson] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            reader.fieldnames = header
            column = "current_address" if "current_address" in header else "address"
            missing = [c for c in ("entity_id", "status", column) if c not in header]
            if missing:
                raise InputError(
                    f"missing columns: {', '.join(missing)} (needs {', '.join(PERSON_COLUMNS)})",
                    where=f"{path}:1",
                )
            for row in reader:
                where = f"{path}:{reader.line_num}"
                entity, status = (row.get(c) or "" for c in ("entity_id", "status"))
                entity, status = entity.strip(), status.strip()
                if None in row or None in row.values():
                    raise InputError("row and header have different numbers of fields", where=where)
                if not entity:
                    raise InputError("empty entity_id", where=where)
                if not _STATUS_WORD.match(status):
                    raise InputError(
                        f"status {status!r} is not a status word (e.g. final_removal_order)",
                        where=where,
                    )
                if entity in persons:
                    raise InputError(f"entity {entity} is listed twice", where=where)
                persons[entity] = TruePerson(status, _key(row.get(column) or "", where))
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", where=str(path)) from None
    except csv.Error as exc:
        raise InputError(f"unreadable CSV ({exc})", where=str(path)) from None
    if not persons:
        raise InputError("the persons file lists no one", where=str(path))
    return persons


def _key(address: str, where: str) -> str | None:
    if not address.strip():
        return None
    try:
        parts = parse_address_line(address.strip())
    except InvalidValue as exc:
        raise InputError(
            f"current address {address!r} cannot be read: {exc}", where=where
        ) from None
    return address_key(parts.street_number, parts.street, parts.unit, parts.postcode)
