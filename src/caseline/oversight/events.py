"""What the audit trail records: one small frozen type per kind of event, and the one way in.

Each event type says what happened (``action``), to what kind of object, which permission the
actor's role must grant, and whether the actor must state a purpose. Code that reads a person
or changes anything asks for a :class:`Permit` first (``permit(actor, PersonRead, purpose)``),
which checks the role and the purpose before any work is done, and then records the event
through it, in the caller's transaction, once the work is done.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy.orm import Session

from caseline.oversight.access import Actor, Permission, authorize, require_purpose
from caseline.oversight.audit import AuditEntry, record_event


@dataclass(frozen=True, kw_only=True)
class Event:
    """One thing that happened, as the trail keeps it; subclasses add what it happened to."""

    action: ClassVar[str]
    object_type: ClassVar[str]
    permission: ClassVar[Permission | None]  # None: anyone who has proved who they are
    needs_purpose: ClassVar[bool] = False
    object_field: ClassVar[str | None] = None  # the field naming the object, if one does
    summary: ClassVar[str]  # one line for the reference documentation

    case_id: str | None = None

    @property
    def object_id(self) -> str | None:
        return None if self.object_field is None else str(getattr(self, self.object_field))

    @property
    def details(self) -> dict[str, Any]:
        skipped = {"case_id", self.object_field}
        return {
            f.name: _as_json(getattr(self, f.name)) for f in fields(self) if f.name not in skipped
        }


def _as_json(value: object) -> object:
    if isinstance(value, tuple):
        return [_as_json(v) for v in value]
    return value


# Reading persons


@dataclass(frozen=True, kw_only=True)
class PersonsSearched(Event):
    action = "search_persons"
    object_type = "person"
    permission = Permission.SEARCH_PERSONS
    needs_purpose = True
    summary = "a name search, with the query as cleaned and the persons it returned"

    query: str
    results: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class PersonRead(Event):
    action = "read_person"
    object_type = "person"
    permission = Permission.READ_PERSON
    needs_purpose = True
    object_field = "person_id"
    summary = "a profile read, with the reference date and the other persons' records it showed"

    person_id: str
    as_of: str
    lead_records: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class PersonEventsRead(Event):
    action = "read_person_events"
    object_type = "person"
    permission = Permission.READ_PERSON
    needs_purpose = True
    object_field = "person_id"
    summary = "the merges and splits that touched a person, read"

    person_id: str
    events: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class PersonsExported(Event):
    action = "export_persons"
    object_type = "person"
    permission = Permission.EXPORT_PERSONS
    needs_purpose = True
    summary = "a bulk export: format, file, how many persons and addresses"

    format: str
    file: str
    persons: int
    addresses: int
    as_of: str


# Reviewing links


@dataclass(frozen=True, kw_only=True)
class PairExplained(Event):
    action = "explain_pair"
    object_type = "record_pair"
    permission = Permission.EXPLAIN_LINKS
    needs_purpose = True
    summary = "how the model scores two records, shown, with the persons they belong to"

    left: str
    right: str
    persons: dict[str, str]
    resolution_run: int
    match_weight: float


@dataclass(frozen=True, kw_only=True)
class LinkDecided(Event):
    action = "decide_link"
    object_type = "link_decision"
    permission = Permission.DECIDE_LINKS
    object_field = "decision_id"
    summary = "a reviewer's decision that two records are, or are not, one person"

    decision_id: int
    left: str
    right: str
    decision: str
    reason: str


# Loading and resolving


@dataclass(frozen=True, kw_only=True)
class FileIngested(Event):
    action = "ingest"
    object_type = "ingest_run"
    permission = Permission.INGEST_FILES
    object_field = "run_id"
    summary = "a source file loaded: its sha256 and how many rows loaded or were quarantined"

    run_id: int
    source: str
    file: str
    sha256: str
    loaded: int
    quarantined: int
    value_issues: int


@dataclass(frozen=True, kw_only=True)
class IngestProblemsRead(Event):
    action = "read_ingest_problems"
    object_type = "ingest_run"
    permission = Permission.READ_INGEST_PROBLEMS
    summary = "quarantined rows and values left out, listed (raw rows hold personal data)"

    file_contains: str | None
    shown: int


@dataclass(frozen=True, kw_only=True)
class IngestRunProblemsRead(Event):
    action = "read_ingest_run_problems"
    object_type = "ingest_run"
    permission = Permission.READ_INGEST_PROBLEMS
    object_field = "run_id"
    summary = "one file's quarantined rows and values left out, a page of them (raw rows)"

    run_id: int
    file: str
    offset: int
    shown: int


@dataclass(frozen=True, kw_only=True)
class PersonsResolved(Event):
    action = "resolve"
    object_type = "resolution_run"
    permission = Permission.RESOLVE_PERSONS
    object_field = "run_id"
    summary = "a full resolution run: records, persons, threshold, engine, model, merges, splits"

    run_id: int
    records: int
    persons: int
    threshold: float
    engine: str
    model: str
    merges: int
    splits: int


@dataclass(frozen=True, kw_only=True)
class RecordsPlaced(Event):
    action = "resolve_incrementally"
    object_type = "resolution_run"
    permission = Permission.RESOLVE_PERSONS
    object_field = "run_id"
    summary = "new records placed among existing persons, and how many joined or started one"

    run_id: int
    new_records: int
    joined_existing: int
    new_persons: int
    candidates: int
    model: str


# Measuring


@dataclass(frozen=True, kw_only=True)
class ResolutionEvaluated(Event):
    action = "evaluate_resolution"
    object_type = "person"
    permission = Permission.EVALUATE_ACCURACY
    summary = "the persons scored against a ground-truth file, with the figures per group"

    truth: str
    records: int
    # "all" and each naming group: precision, recall, F1, B-cubed F1, records (the report)
    by_group: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class AddressesEvaluated(Event):
    action = "evaluate_addresses"
    object_type = "person"
    permission = Permission.EVALUATE_ACCURACY
    summary = "address confidence scored against the true current addresses, per group"

    truth: str
    current: str
    as_of: str
    persons_judged: int
    # "all" and each naming group: persons, top-1, Brier, ECE, the most-recent rule's top-1
    by_group: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class CasesSimulated(Event):
    action = "simulate_cases"
    object_type = "person"
    permission = Permission.EVALUATE_ACCURACY
    summary = "leads worked by a simulated analyst, guards on and off, counted against the truth"

    truth_records: str
    truth_persons: str
    as_of: str
    leads: int
    guards_on: dict[str, int]
    guards_off: dict[str, int]


# Users and sessions


@dataclass(frozen=True, kw_only=True)
class UserAdded(Event):
    action = "add_user"
    object_type = "user"
    permission = Permission.MANAGE_USERS
    object_field = "username"
    summary = "a user added, with their role"

    username: str
    role: str


@dataclass(frozen=True, kw_only=True)
class SignedIn(Event):
    action = "sign_in"
    object_type = "user"
    permission = None
    object_field = "username"
    summary = "a session opened with the right password"

    username: str


@dataclass(frozen=True, kw_only=True)
class SignedOut(Event):
    action = "sign_out"
    object_type = "user"
    permission = None
    object_field = "username"
    summary = "a session closed"

    username: str


# Leads and cases


@dataclass(frozen=True, kw_only=True)
class LeadsListed(Event):
    action = "list_leads"
    object_type = "person"
    permission = Permission.LIST_LEADS
    summary = "the leads the rules found, listed, with the persons they name"

    rules: tuple[str, ...]
    persons: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CaseOpened(Event):
    action = "open_case"
    object_type = "case"
    permission = Permission.OPEN_CASES
    object_field = "case_id"
    summary = "a case opened on a person, from a lead rule or by an analyst with a reason"

    person_id: str
    origin: str


@dataclass(frozen=True, kw_only=True)
class CaseRead(Event):
    action = "read_case"
    object_type = "case"
    permission = Permission.READ_CASES
    object_field = "case_id"
    summary = "a case read: its history, its dossiers' hashes and its next steps"

    person_id: str


@dataclass(frozen=True, kw_only=True)
class CasesListed(Event):
    action = "list_cases"
    object_type = "case"
    permission = Permission.READ_CASES
    summary = "cases listed, with the persons they name"

    state: str | None
    persons: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CaseStepTaken(Event):
    action = "take_case_step"
    object_type = "case"
    permission = Permission.TAKE_CASE_STEPS
    object_field = "case_id"
    summary = "a step of a case's lifecycle, with its reason, guards and dossier hash"

    person_id: str
    step: str
    from_state: str
    to_state: str
    reason: str | None
    dossier_sha256: str | None


@dataclass(frozen=True, kw_only=True)
class CaseClaimed(Event):
    action = "claim_case"
    object_type = "case"
    permission = Permission.OPEN_CASES
    object_field = "case_id"
    summary = "an analyst or supervisor took a case to work, with whom it was assigned to"

    person_id: str
    previous: str | None


@dataclass(frozen=True, kw_only=True)
class CaseAssigned(Event):
    action = "assign_case"
    object_type = "case"
    permission = Permission.OPEN_CASES  # and the supervisor's role, which the cases check
    object_field = "case_id"
    summary = "a supervisor gave a case to a named analyst or supervisor"

    person_id: str
    assigned_to: str
    previous: str | None


@dataclass(frozen=True, kw_only=True)
class DossierRead(Event):
    action = "read_dossier"
    object_type = "case"
    permission = Permission.READ_CASES
    object_field = "case_id"
    summary = "a dossier kept with a case step, read and checked against its hash"

    person_id: str
    transition_id: int


@dataclass(frozen=True, kw_only=True)
class DeparturesListed(Event):
    action = "list_departures"
    object_type = "person"
    permission = Permission.LIST_DEPARTURES
    summary = "voluntary departures and whether each is verified, probable or overdue"

    persons: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CaseThresholdsChanged(Event):
    action = "change_case_thresholds"
    object_type = "setting"
    permission = None  # noted for whoever first acts under the new settings
    summary = "the guards' thresholds took effect with new values (and what they were)"

    identity: float
    address: float
    previous_identity: float | None
    previous_address: float | None


E = TypeVar("E", bound=Event)


@dataclass(frozen=True, slots=True)
class Permit(Generic[E]):
    """Leave for ``actor`` to do what ``event_type`` records, with the purpose they stated."""

    actor: Actor
    event_type: type[E]
    purpose: str | None

    def record(self, session: Session, event: E) -> None:
        """Append the event to the audit trail in the caller's transaction."""
        if type(event) is not self.event_type:
            raise TypeError(f"a permit for {self.event_type.__name__} cannot record {event!r}")
        record_event(
            session,
            AuditEntry.by(
                self.actor,
                event.action,
                event.object_type,
                object_id=event.object_id,
                purpose=self.purpose,
                case_id=event.case_id,
                details=event.details,
            ),
        )


def permit(actor: Actor, event_type: type[E], purpose: str | None = None) -> Permit[E]:
    """Check that the actor's role grants what the event needs, and its purpose if it needs
    one; raise AccessDenied otherwise. Call before the work, record through it after."""
    if event_type.permission is not None:
        authorize(actor, event_type.permission)
    stated = require_purpose(purpose) if event_type.needs_purpose else None
    return Permit(actor, event_type, stated)


def event_types() -> tuple[type[Event], ...]:
    """Every kind of event the trail can hold (the reference documentation lists each)."""
    return tuple(Event.__subclasses__())
