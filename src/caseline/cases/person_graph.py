"""A person's link graph, read for the reader's work: the purpose binds as a profile read's
does (``purposes.py``), and the read is audited with the case it bound to, if any."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from caseline.cases.purposes import bind_purpose
from caseline.oversight import Actor, PersonGraphRead, permit
from caseline.profiles import DEFAULT_CAP, DEFAULT_HOPS, LinkGraph, read_link_graph


def read_person_graph(
    session: Session,
    person_id: str,
    *,
    actor: Actor,
    purpose: str | None,
    hops: int = DEFAULT_HOPS,
    cap: int = DEFAULT_CAP,
    as_of: dt.date | None = None,
) -> LinkGraph:
    """The person's records and neighbours as a graph, read for the work the purpose names
    (the interfaces call :func:`state_purpose` first, as for a profile)."""
    permit(actor, PersonGraphRead, purpose)  # the role and the purpose's form, before anything
    bound = bind_purpose(
        session, person_id, actor=actor, purpose=purpose, as_of=as_of or dt.date.today()
    )
    return read_link_graph(
        session, person_id, actor=actor, purpose=bound.text, hops=hops, cap=cap,
        case_id=bound.case_id,
    )  # fmt: skip
