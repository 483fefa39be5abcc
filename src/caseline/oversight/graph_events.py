"""Audit events of link graphs: a person's records and the persons near it, read.
Registered beside the other event types (one frozen dataclass each, recorded through a
permit in the transaction that does the work)."""

from __future__ import annotations

from dataclasses import dataclass

from caseline.oversight.access import Permission
from caseline.oversight.events import Event


@dataclass(frozen=True, kw_only=True)
class PersonGraphRead(Event):
    action = "read_person_graph"
    object_type = "person"
    permission = Permission.READ_PERSON
    needs_purpose = True
    object_field = "person_id"
    summary = (
        "a person's link graph read: hops, node cap, the neighbour persons it showed (by "
        "name, record count and sources) and how many more the cap left out"
    )

    person_id: str
    hops: int
    cap: int
    neighbours: tuple[str, ...]
    more: dict[str, int]
