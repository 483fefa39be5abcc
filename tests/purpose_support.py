"""A purpose in words countersigned, for tests that read a person for a reason rather than
for a case or a lead: filed as the reader, countersigned by a supervisor."""

from caseline.db import Database
from caseline.oversight import Actor, Role, countersign_purpose, seek_countersign

SUPERVISOR = Actor("sam", Role.SUPERVISOR)


def countersigned(database: Database, reader: Actor, person_id: str, purpose: str) -> int:
    """File ``purpose`` for ``reader`` to read ``person_id`` and countersign it; its id."""
    with database.transaction() as session:
        request_id = seek_countersign(session, reader, f"person:{person_id}", purpose)
        assert request_id is not None, "already countersigned"
        countersign_purpose(session, request_id, actor=SUPERVISOR)
    return request_id
