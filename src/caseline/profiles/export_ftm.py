"""Export persons and their addresses as FollowTheMoney entities (JSON lines), for Aleph and
other tools that read FtM.

Each person is a `Person` with every name, date of birth, sex, citizenship and country of
birth its records state (conflicts are kept: FtM properties are multi-valued), and its
identity assurance in `summary`. Each of its addresses is an `Address` entity whose
`summary` gives the probability that it is the current residence at the reference date and
whose `description` gives the evidence. Identifiers are not exported (Caseline keeps only
keyed hashes of them), nor are leads (addresses from another person's records).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from followthemoney import model as ftm
from followthemoney.proxy import EntityProxy
from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.db.models import Person, PersonRecord, SourceRecord
from caseline.files import PRIVATE_FILE, make_private
from caseline.oversight import Actor, PersonsExported, permit, require_countersigned
from caseline.profiles.address_confidence import load_departures, score_evidence
from caseline.profiles.address_model import AddressModel
from caseline.profiles.address_records import load_address_records

DATASET = "caseline"
_ZIP = re.compile(r"\b(\d{5})$")
_GENDER = {"M": "male", "F": "female", "X": "other"}


EXPORT_SCOPE = "export:ftm"  # every person and address, as FollowTheMoney entities


@dataclass(frozen=True, slots=True)
class ExportSummary:
    path: Path
    persons: int
    addresses: int


def export_ftm(
    session: Session,
    path: Path,
    *,
    actor: Actor,
    purpose: str | None,
    as_of: dt.date,
    model: AddressModel,
) -> ExportSummary:
    """Write every person and address to ``path``; authorised, and audited with the count.
    The file is written beside its final name and renamed, so a failure leaves none.

    A bulk export needs a supervisor's countersignature of its purpose for its scope
    (:data:`EXPORT_SCOPE`): the interface files the purpose first (``seek_countersign``)."""
    allowed = permit(actor, PersonsExported, purpose)
    require_countersigned(session, actor, EXPORT_SCOPE, purpose or "")
    persons = {p.person_id: p for p in session.scalars(select(Person).order_by(Person.person_id))}
    attributes = _attributes(session)
    evidence = score_evidence(
        load_address_records(session), as_of, model, load_departures(session, as_of)
    )
    own = evidence[evidence["lead"] == 0]
    addresses_of = {pid: group for pid, group in own.groupby("person_id", sort=False)}
    written_persons = written_addresses = 0
    partial = path.with_name(path.name + ".partial")
    try:
        partial.touch(mode=PRIVATE_FILE)
        make_private(partial)  # personal data: its owner's alone, whatever the umask
        with partial.open("w", encoding="utf-8") as out:
            for person_id, person in persons.items():
                entities = list(
                    _entities(person, attributes.get(person_id), addresses_of.get(person_id), as_of)
                )
                for entity in entities:
                    out.write(json.dumps(entity.to_dict(), sort_keys=True) + "\n")
                written_persons += 1
                written_addresses += len(entities) - 1
        # The audit event is written before the file takes its name: no export without one.
        allowed.record(
            session,
            PersonsExported(
                format="ftm",
                file=str(path),
                persons=written_persons,
                addresses=written_addresses,
                as_of=as_of.isoformat(),
            ),
        )
        session.flush()
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return ExportSummary(path, written_persons, written_addresses)


def _entities(
    person: Person, records: pd.DataFrame | None, addresses: pd.DataFrame | None, as_of: dt.date
) -> Iterator[EntityProxy]:
    entity = ftm.make_entity("Person")
    entity.make_id(DATASET, person.person_id)
    entity.add("name", person.display_name)
    if records is not None:
        entity.add("firstName", _values(records["given_name"]))
        entity.add("middleName", _values(records["middle_name"]))
        entity.add("lastName", _values(records["family_name"]))
        entity.add("birthDate", [d.isoformat() for d in _values(records["date_of_birth"])])
        entity.add("gender", [_GENDER[s] for s in _values(records["sex"]) if s in _GENDER])
        entity.add("nationality", _values(records["citizenship"]))
        entity.add("birthCountry", _values(records["country_of_birth"]))
    entity.add("notes", f"Caseline person {person.person_id}: {person.record_count} records")
    if person.assurance is not None:
        entity.add("summary", f"identity assurance {person.assurance:.4f}")
    if addresses is not None:
        for row in addresses.sort_values("probability", ascending=False).to_dict("records"):
            address = _address(person.person_id, row, as_of)
            entity.add("addressEntity", address)
            entity.add("address", row["address"])
            yield address
    yield entity


def _address(person_id: str, row: dict[str, Any], as_of: dt.date) -> EntityProxy:
    address = ftm.make_entity("Address")
    address.make_id(DATASET, person_id, row["address_key"])
    address.add("full", row["address"])
    street, _, place = str(row["address"]).partition(", ")
    address.add("street", street)
    zip_code = _ZIP.search(place)
    address.add("postalCode", zip_code.group(1) if zip_code else None)
    address.add("country", "us")
    address.add("summary", f"probability current {row['probability']:.4f} on {as_of.isoformat()}")
    first, last = (pd.Timestamp(row[c]).date().isoformat() for c in ("first_seen", "last_seen"))
    evidence = f"{row['records']} records from {', '.join(row['sources'])}; seen {first} to {last}"
    if row["open_accounts"]:
        evidence += f"; {row['open_accounts']} account(s) open"
    if row["closed_accounts"]:
        evidence += f"; {row['closed_accounts']} account(s) closed"
    if row["newer_elsewhere_days"]:
        evidence += f"; another address appeared {row['newer_elsewhere_days']} days after"
    address.add("description", evidence)
    return address


def _attributes(session: Session) -> dict[str, pd.DataFrame]:
    columns = (
        "given_name",
        "middle_name",
        "family_name",
        "date_of_birth",
        "sex",
        "citizenship",
        "country_of_birth",
    )
    rows = session.execute(
        select(PersonRecord.person_id, *(getattr(SourceRecord, c) for c in columns)).join(
            SourceRecord, SourceRecord.record_id == PersonRecord.record_id
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["person_id", *columns])
    return {pid: group for pid, group in frame.groupby("person_id", sort=False)}


def _values(column: pd.Series) -> list[Any]:
    """Distinct non-empty values, most frequent first, ties in value order (the records come
    in no fixed order, and the export is the same whatever the database)."""
    counted = column.dropna().value_counts()
    ranked = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    return [value for value, _ in ranked if value != ""]
