"""Leads and departures a page at a time, computed once per state of the data they read: the
pages add up to the whole list, each page is audited, and every kind of change the lists
read gives a fresh list."""

import datetime as dt
import html
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from caseline.cases import LeadRule, Thresholds, file_dispute, find_leads, open_case
from caseline.cases.departures import find_departures, page_of_departures
from caseline.cases.disputes import decide_dispute, start_review
from caseline.cases.lead_cache import (
    MAX_PAGE_SIZE,
    ComputedLists,
    computed_lists,
    data_version,
    page_of,
)
from caseline.cases.leads import Lead, page_of_leads
from caseline.cases.priority_order import rank_leads
from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import (
    AuditEvent,
    Case,
    CaseTransition,
    IngestRun,
    LinkDecision,
    Person,
    PersonEvent,
    PersonRecord,
    ResolutionRun,
    RetentionFlag,
)
from caseline.errors import AccessDenied, InputError
from caseline.oversight import Actor, Role
from caseline.server import create_app
from tests.conftest import PASSWORD, last_audit_seq
from tests.web_support import web_sign_in

AS_OF = dt.date(2026, 1, 1)  # the small world's reference date
THRESHOLDS = Thresholds(identity=0.95, address=0.5)
ANN = Actor("ann", Role.ANALYST)
LEE = Actor("lee", Role.LEGAL)
LIZ = Actor("liz", Role.LEGAL)
REMOVAL = [LeadRule.REMOVAL_ORDER_NOT_DEPARTED]


def _ranked(session: Session, rules: list[LeadRule] | None = None) -> list[Lead]:
    """The leads on AS_OF in the order the pages give them: the priority policy's."""
    return rank_leads(session, find_leads(session, AS_OF, rules=rules), AS_OF)


def _all_lead_pages(session: Session, size: int, rules: list[LeadRule] | None = None) -> list[Lead]:
    shown: list[Lead] = []
    offset: int | None = 0
    while offset is not None:
        page = page_of_leads(
            session, actor=ANN, as_of=AS_OF, rules=rules, offset=offset, limit=size
        )
        assert page.offset == offset and len(page.items) <= size
        shown += page.items
        offset = page.next_offset
    return shown


def test_lead_pages_add_up_to_every_lead_and_each_page_is_audited(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    with database.transaction() as session:  # in the order of the priority policy in force
        every = _ranked(session)
    assert len(every) > 7  # pages of 7 below: more than one
    since = last_audit_seq(database)
    with database.transaction() as session:
        assert _all_lead_pages(session, 7) == every
        second = page_of_leads(session, actor=ANN, as_of=AS_OF, offset=7, limit=7)
        removal = _all_lead_pages(session, 3, REMOVAL)
    assert second.total == len(every) and second.previous_offset == 0
    assert second.items == every[7:14]
    assert removal == [lead for lead in every if lead.rule is LeadRule.REMOVAL_ORDER_NOT_DEPARTED]
    with database.transaction() as session:
        listed = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > since, AuditEvent.action == "list_leads")
            .order_by(AuditEvent.seq)
        ).all()
    pages = -(-len(every) // 7) + 1 + -(-len(removal) // 3)
    assert len(listed) == pages  # every page, the same list from memory or not, is audited
    assert listed[0].details["persons"] == sorted({lead.person_id for lead in every[:7]})
    with database.transaction() as session, pytest.raises(AccessDenied):
        page_of_leads(session, actor=Actor("aud", Role.AUDITOR), as_of=AS_OF)


def test_departure_pages_add_up_to_every_departure_of_a_state(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    with database.transaction() as session:
        every = find_departures(session, AS_OF, THRESHOLDS)
        first = page_of_departures(session, actor=ANN, as_of=AS_OF, thresholds=THRESHOLDS, limit=2)
        overdue = page_of_departures(
            session, actor=ANN, as_of=AS_OF, thresholds=THRESHOLDS, state="overdue", limit=500
        )
        with pytest.raises(InputError, match="'gone' is not a departure state"):
            page_of_departures(session, actor=ANN, as_of=AS_OF, thresholds=THRESHOLDS, state="gone")
    assert len(every) > 2
    assert first.items == every[:2] and first.total == len(every) and first.next_offset == 2
    assert first.previous_offset is None
    assert (
        overdue.items == [d for d in every if d.state == "overdue"] and overdue.next_offset is None
    )


def test_a_bad_page_is_refused_saying_which_value_and_why() -> None:
    with pytest.raises(InputError, match="offset -1 is below 0") as below:
        page_of([1, 2], -1, 10)
    assert below.value.where == "offset"
    for size in (0, MAX_PAGE_SIZE + 1):
        with pytest.raises(InputError, match=f"page size {size} is not 1 to") as wrong:
            page_of([1, 2], 0, size)
        assert wrong.value.where == "limit"
    past = page_of([1, 2, 3], 5, 2)
    assert past.items == [] and past.total == 3 and past.next_offset is None


def test_a_list_is_computed_once_per_data_version_and_only_a_few_are_kept(
    resolved: tuple[Settings, Database],
) -> None:
    _, database = resolved
    lists = ComputedLists(kept=2)
    computed: list[dt.date] = []

    def compute(day: dt.date) -> Callable[[], list[str]]:
        def run() -> list[str]:
            computed.append(day)
            return [day.isoformat()]

        return run

    days = [AS_OF, AS_OF + dt.timedelta(days=1), AS_OF + dt.timedelta(days=2)]
    with database.transaction() as session:
        for day in [days[0], days[0], days[1], days[0]]:
            assert lists.get(session, "t", day, None, compute(day)) == (day.isoformat(),)
        assert computed == [days[0], days[1]]  # the same day and data: from memory
        lists.get(session, "t", days[2], None, compute(days[2]))  # drops the oldest used
        lists.get(session, "t", days[0], None, compute(days[0]))
        lists.get(session, "t", days[1], None, compute(days[1]))
    assert computed == [days[0], days[1], days[2], days[1]]


def _add_row(row_of: Callable[[Session], object]) -> Callable[[Session], None]:
    return lambda session: session.add(row_of(session))


def _any_person(session: Session) -> str:
    return session.scalars(select(Person.person_id).order_by(Person.person_id).limit(1)).one()


def _two_records(session: Session) -> list[str]:
    return list(session.scalars(select(PersonRecord.record_id).limit(2)))


def _step_case(session: Session) -> None:
    case = session.scalars(select(Case).order_by(Case.id).limit(1)).one()
    case.version += 1
    case.updated_at = dt.datetime.now(dt.UTC)


CHANGES: dict[str, Callable[[Session], None]] = {
    "records ingested": _add_row(
        lambda s: IngestRun(source="court", file_name="more.csv", file_sha256="f" * 64)
    ),
    "persons resolved": _add_row(
        lambda s: ResolutionRun(engine="test", model_path="m.json", threshold=0.9)
    ),
    "persons merged or split": _add_row(
        lambda s: PersonEvent(
            resolution_run_id=s.scalars(select(ResolutionRun.id).limit(1)).one(),
            kind="merge",
            person_id=_any_person(s),
            record_count=1,
        )
    ),
    "a link decided": _add_row(
        lambda s: LinkDecision(
            left_record_id=_two_records(s)[0],
            right_record_id=_two_records(s)[1],
            decision="different_persons",
            reason="two people",
            decided_by="sam",
        )
    ),
    "a case moved on": _step_case,
    "a case step recorded": _add_row(
        lambda s: CaseTransition(
            case_id=s.scalars(select(Case.id).limit(1)).one(),
            action="note",
            from_state="lead",
            to_state="lead",
            actor="ann",
            role="analyst",
        )
    ),
    "records purged": _add_row(
        lambda s: RetentionFlag(
            run_id="r1",
            applied_by="admin",
            as_of=AS_OF,
            person_id=_any_person(s),
            records_lost=1,
            records_left=1,
        )
    ),
}


def test_each_kind_of_change_the_lists_read_changes_the_data_version(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        open_case(session, actor=ANN, as_of=AS_OF, lead_id=find_leads(session, AS_OF)[0].lead_id)
    for change, make in CHANGES.items():
        with database.transaction() as session:
            before = data_version(session)
            before_cases_aside = data_version(session, with_cases=False)
        with database.transaction() as session:
            make(session)
        with database.transaction() as session:
            assert data_version(session) != before, f"{change} left the data version as it was"
            assert data_version(session) == data_version(session)
            cases_aside = data_version(session, with_cases=False)
        assert (cases_aside == before_cases_aside) == ("case" in change), change


def test_a_case_opened_gives_a_fresh_list_of_leads(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    with database.transaction() as session:
        lead = page_of_leads(session, actor=ANN, as_of=AS_OF, rules=REMOVAL).items[0]
        assert lead.open_case is None
        kept = data_version(session, with_cases=False)
        case = open_case(session, actor=ANN, as_of=AS_OF, lead_id=lead.lead_id)
    with database.transaction() as session:
        again = page_of_leads(session, actor=ANN, as_of=AS_OF, rules=REMOVAL).items
        # the kept leads serve again (a case changes no rule's finding), with the case on
        assert data_version(session, with_cases=False) == kept
        assert again == _ranked(session, rules=REMOVAL)[:50]
    assert next(x for x in again if x.lead_id == lead.lead_id).open_case == case.id


def test_disputes_filed_and_decided_give_fresh_lists_of_leads(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved

    def removal_leads() -> set[str]:
        with database.transaction() as session:
            page = page_of_leads(session, actor=ANN, as_of=AS_OF, rules=REMOVAL, limit=500)
        assert page.next_offset is None
        return {x.lead_id for x in page.items}

    with database.transaction() as session:
        lead = page_of_leads(session, actor=ANN, as_of=AS_OF, rules=REMOVAL).items[0]
        filed = file_dispute(
            session, LEE, person_id=lead.person_id, record_id=lead.records[0], kind="not_me",
            grounds="the order names another man of this name",
        )  # fmt: skip
    assert lead.lead_id not in removal_leads()  # the order leaves the evidence while open
    with database.transaction() as session:
        start_review(session, LIZ, filed.id)
    assert lead.lead_id not in removal_leads()
    with database.transaction() as session:
        decide_dispute(session, LIZ, filed.id, uphold=False, reason="checked the document")
    assert lead.lead_id in removal_leads()


def test_a_departure_granted_by_a_case_gives_a_fresh_list_of_departures(
    mutable_resolved: tuple[Settings, Database],
) -> None:
    _, database = mutable_resolved
    computed_lists.clear()

    def listed() -> dict[str, str]:
        with database.transaction() as session:
            page = page_of_departures(
                session, actor=ANN, as_of=AS_OF, thresholds=THRESHOLDS, limit=500
            )
        return {d.person_id: d.state for d in page.items}

    before = listed()
    with database.transaction() as session:
        person_id = next(
            p for p in session.scalars(select(Person.person_id).order_by(Person.person_id))
            if p not in before
        )  # fmt: skip
        session.add(
            Case(
                person_id=person_id, state="voluntary_departure", opened_by="ann",
                origin={"rule": "analyst"}, deadline=dt.date(2025, 6, 1),
            )
        )  # fmt: skip
    assert listed() == {**before, person_id: "overdue"}


def test_the_api_pages_leads_and_departures_with_the_total_in_a_header(
    resolved: tuple[Settings, Database],
) -> None:
    settings, database = resolved
    with database.transaction() as session:
        leads = [x.lead_id for x in _ranked(session)]
        departures = [d.person_id for d in find_departures(session, AS_OF, Thresholds.of(settings))]
    with TestClient(create_app(settings, database)) as client:
        token = client.post("/api/sessions", json={"username": "lee", "password": PASSWORD})
        lee = {"Authorization": f"Bearer {token.json()['token']}"}
        token = client.post("/api/sessions", json={"username": "ann", "password": PASSWORD})
        ann = {"Authorization": f"Bearer {token.json()['token']}"}
        middle = client.get(
            "/api/leads", params={"as_of": str(AS_OF), "offset": 5, "limit": 5}, headers=ann
        )
        assert middle.status_code == 200, middle.text
        assert [x["lead_id"] for x in middle.json()] == leads[5:10]
        assert middle.headers["X-Total-Count"] == str(len(leads))
        assert middle.headers["X-Next-Offset"] == "10"
        last = client.get("/api/leads", params={"as_of": str(AS_OF), "offset": 10}, headers=ann)
        assert [x["lead_id"] for x in last.json()] == leads[10:60]
        assert "X-Next-Offset" not in last.headers
        first = client.get("/api/departures", params={"as_of": str(AS_OF), "limit": 3}, headers=lee)
        assert [d["person_id"] for d in first.json()] == departures[:3]
        assert first.headers["X-Total-Count"] == str(len(departures))
        for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}):
            for path, headers in (("/api/leads", ann), ("/api/departures", lee)):
                refused = client.get(path, params=bad, headers=headers)
                assert refused.status_code == 422, (path, bad)
                assert next(iter(bad)) in refused.text


def _page_rows(text: str) -> list[str]:
    return re.findall(r'<tr data-(?:lead-id|person-id)="([^"]+)"', text)


def _pager_link(text: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', text)
    return html.unescape(found.group(1)) if found else None


@pytest.mark.parametrize(
    ("path", "module", "user"),
    [("/leads", "caseline.web.cases", "ann"), ("/departures", "caseline.web.departures", "lee")],
)
def test_the_pages_show_a_page_at_a_time_with_the_total_and_links_on(
    resolved: tuple[Settings, Database],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    module: str,
    user: str,
) -> None:
    settings, database = resolved
    monkeypatch.setattr(f"{module}.PAGE_SIZE", 3)
    with database.transaction() as session:
        if path == "/leads":
            every = [x.lead_id for x in _ranked(session)]
            kinds = [x.rule.value for x in _ranked(session)]
        else:
            found = find_departures(session, AS_OF, Thresholds.of(settings))
            every = [d.person_id for d in found]
            kinds = [d.state for d in found]
    client = web_sign_in(TestClient(create_app(settings, database)), user, PASSWORD)
    page = client.get(path, params={"as_of": str(AS_OF)})
    assert page.status_code == 200
    assert _page_rows(page.text) == every[:3]
    assert f"{len(every)} " in page.text and ": 1 to 3</h2>" in page.text
    assert _pager_link(page.text, "prev") is None
    shown: list[str] = []
    link: str | None = f"{path}?as_of={AS_OF}"
    while link is not None:
        assert f"as_of={AS_OF}" in link  # the day goes along
        page = client.get(link)
        assert page.status_code == 200
        shown += _page_rows(page.text)
        link = _pager_link(page.text, "next")
    assert shown == every
    assert _pager_link(page.text, "prev") is not None
    value = max(set(kinds), key=kinds.count)  # the rule or state most have
    assert kinds.count(value) > 3
    key = "rule" if path == "/leads" else "state"
    page = client.get(path, params={"as_of": str(AS_OF), key: value})
    following = _pager_link(page.text, "next")
    assert following is not None and f"{key}={value}" in following  # the filter goes along
    assert f'data-{key}="{value}"' in client.get(following).text
