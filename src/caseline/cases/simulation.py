"""How many wrongful actions the guards prevent: a hurried analyst works every lead, with the
server's guards and without them, and each action is counted against the ground truth.

For each lead the simulated analyst searches the lead's name as the search page would, takes
the top profile (which may be a namesake), and proposes each next step of the lifecycle table
as soon as it is allowed, acting at the profile's top address. With the guards on, each step
is checked by the server's own guards (:func:`caseline.cases.guards.evaluate`) against the
facts of an in-memory case opened on that profile for the lead (its records cited, as
``open_case`` keeps them): the analyst read the records and confirmed the identity just
now, no legal reviewer cleared anything, and a second person approves. With the guards off
only what a step needs (an address to act at) is checked. A lead acts when ``approve_action``
would be taken; it reaches its action when that is against the person the lead is about.

With redress (:mod:`caseline.cases.redress`), the leads are worked again with the guards on
after the persons wrongly targeted dispute their cases: the steps from the action on
(``LATER_FROM``) see what the server gathers once the disputes are filed and decided, and
the analyst confirms the identity again when the guards ask, as they do after a change.

Nothing is written but one audit event for the run: no case is opened and no read of a
person is audited, since no one reads a person; it is an offline measurement, as
``caseline evaluate`` is (redress's disputes are rolled back with their savepoint).
docs/cases.md ("Measuring wrongful actions") defines each figure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from sqlalchemy.orm import Session

from caseline.cases.ground_truth import GroundTruth, TruePerson, read_ground_truth
from caseline.cases.grounds import assess_grounds
from caseline.cases.guards import CaseFacts, Thresholds, evaluate, gather_facts
from caseline.cases.leads import Lead, find_leads
from caseline.cases.redress import RedressFigures, RedressSettings, Rewalk, redress_cases
from caseline.cases.service import analyst_origin
from caseline.cases.simulated_facts import PersonFacts, person_facts
from caseline.cases.workflow import BY_ACTION, Field, Guard, State
from caseline.db.models import Case
from caseline.errors import InputError
from caseline.oversight import Actor, Role, permit
from caseline.oversight.events import CasesSimulated
from caseline.profiles.address_model import AddressModel
from caseline.profiles.search import find_top_persons

# The steps a hurried analyst proposes, in order; the case acts at ACTION.
PATH = ("begin_review", "confirm_identity", "propose_action", "approve_action", "serve_notice")
ACTION = "approve_action"
# With redress, the steps from this one on are taken after the disputes (LaterFacts).
LATER_FROM = "propose_action"
IDENTITY_CHANGED = frozenset({Guard.IDENTITY_SEEN.value, Guard.IDENTITY_CONFIRMED.value})
# Who takes each step: the first of these whose role the step allows.
ANALYST = Actor("simulated-analyst", Role.ANALYST)
SUPERVISOR = Actor("simulated-supervisor", Role.SUPERVISOR)
LEGAL = Actor("simulated-legal", Role.LEGAL)
STAFF = (ANALYST, SUPERVISOR, LEGAL)

ProgressCallback = Callable[[int, int], None]  # leads worked, leads to work


class Outcome(StrEnum):
    ACTED = "acted"  # approve_action would be taken
    STOPPED = "stopped"  # a guard stopped a step before it
    NO_PROFILE = "no_profile"  # the search for the lead's name found no one
    NO_ADDRESS = "no_address"  # the profile lists no address to act at


@dataclass(frozen=True, slots=True)
class Walk:
    """How far one lead got: where it stopped and which guards stopped it."""

    outcome: Outcome
    step: str | None = None  # the step that stopped it, or the last one taken
    guards: tuple[str, ...] = ()  # the guards that failed at that step, in the table's order
    reconfirmed: bool = False  # the person changed after the confirmation: confirmed again


@dataclass(frozen=True, slots=True)
class LaterFacts:
    """What the steps from the action on see when the person changed after the case was
    opened and its identity confirmed (redress: disputes filed and decided in between)."""

    facts: CaseFacts  # as the server gathers them then, the identity confirmed before
    address: str | None  # the profile's top address then, where the analyst acts
    read_again_at: dt.datetime  # when the analyst reads the profile again, if a guard asks


@dataclass(frozen=True, slots=True)
class WorkedLead:
    """One lead, worked with the guards on and off, and what acting on it would have been."""

    lead: Lead
    intended: str  # the true entity holding most of the lead's records
    chosen: str | None  # the person the analyst took from the search
    chosen_entity: str | None  # the true entity holding most of that person's records
    address: str | None  # the top address, where the analyst acts
    actionable: bool  # the intended entity's true status and address allow an action
    right_person: bool
    protected: bool  # the person acted against truly may be here
    wrong_address: bool  # the person acted against does not live at the address
    on: Walk
    off: Walk

    @property
    def wrongful(self) -> bool:
        return not self.right_person or self.protected or self.wrong_address

    @property
    def wrongful_action(self) -> bool:
        """With the guards on, the lead reaches an action, and a wrongful one."""
        return self.on.outcome is Outcome.ACTED and self.wrongful


COUNTS = (
    "leads", "actions", "right_person_right_address", "wrong_person", "protected",
    "wrong_address", "wrongful", "stopped", "rightly_stopped", "no_profile", "no_address",
    "actionable", "actionable_reached",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SimulationFigures:
    """One setting's counts over the leads worked; each also per 1,000 leads."""

    counts: dict[str, int]
    stopped_by: dict[str, int]  # the first guard that stopped each stopped lead
    stopped_at: dict[str, int]  # the step each stopped lead stopped at

    def per_thousand(self, name: str) -> float:
        leads = self.counts["leads"]
        return 1000 * self.counts[name] / leads if leads else 0.0

    @property
    def actionable_reach(self) -> float:
        """The share of truly actionable leads that reach an action against their person."""
        actionable = self.counts["actionable"]
        return self.counts["actionable_reached"] / actionable if actionable else 1.0

    def as_dict(self) -> dict[str, object]:
        return {
            **self.counts,
            "per_1000_leads": {n: round(self.per_thousand(n), 3) for n in COUNTS[1:]},
            "stopped_by": dict(sorted(self.stopped_by.items())),
            "stopped_at": dict(sorted(self.stopped_at.items())),
            "actionable_reach": round(self.actionable_reach, 6),
        }


@dataclass(frozen=True, slots=True)
class Simulation:
    as_of: dt.date
    leads_found: int  # what the lead rules find on the day
    not_in_truth: int  # leads whose records the truth does not list: left out
    without_status: int  # true entities judged that the persons file does not list
    worked: list[WorkedLead] = field(repr=False)
    on: SimulationFigures
    off: SimulationFigures
    redress: RedressFigures | None = None  # guards on, with the wrongly targeted disputing

    @property
    def targets(self) -> dict[str, bool]:
        """Issue 19's targets for the guards-on run."""
        on, off = self.on.counts, self.off.counts
        return {
            "no_wrong_person": on["wrong_person"] == 0,
            "no_protected": on["protected"] == 0,
            "wrong_address_at_most_half": on["wrong_address"] <= off["wrong_address"] / 2,
            "actionable_reach_80": self.on.actionable_reach >= 0.8,
            # The same read as "still": of the leads that reach their action without the
            # guards, the share that still does with them.
            "reach_kept_80": self.reach_kept >= 0.8,
        }

    @property
    def reach_kept(self) -> float:
        """Of the truly actionable leads that reach their action without the guards, the share
        that still do with them: the guards' own cost, apart from the leads the analyst could
        not act on rightly anyway (a namesake's profile taken, no address on record)."""
        reached = self.off.counts["actionable_reached"]
        return self.on.counts["actionable_reached"] / reached if reached else 1.0

    def as_dict(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "leads_found": self.leads_found,
            "leads": len(self.worked),
            "not_in_truth": self.not_in_truth,
            "without_status": self.without_status,
            "guards_on": self.on.as_dict(),
            "guards_off": self.off.as_dict(),
            "reach_kept": round(self.reach_kept, 6),
            "targets": self.targets,
            **({"redress": self.redress.as_dict()} if self.redress else {}),
        }


def simulate_cases(
    session: Session,
    *,
    truth_records: Path,
    truth_persons: Path,
    as_of: dt.date,
    thresholds: Thresholds,
    actor: Actor,
    leads: int | None = None,
    model: AddressModel | None = None,
    progress: ProgressCallback | None = None,
    redress: RedressSettings | None = None,
    choose: Callable[[list[Lead]], list[Lead]] | None = None,
) -> Simulation:
    """Work every lead on ``as_of`` (or a deterministic sample of ``leads``, or those
    ``choose`` takes from them: a priority policy's first) with the guards
    on and off, counted against the truth files; with ``redress``, work them again with the
    guards on after the wrongly targeted dispute their cases (:mod:`caseline.cases.redress`).
    Writes nothing but one audit event."""
    allowed = permit(actor, CasesSimulated)
    if leads is not None and leads < 1:
        raise InputError("at least one lead", where="leads")
    truth = read_ground_truth(truth_records, truth_persons)
    found = find_leads(session, as_of)
    sample = sorted(found, key=lambda lead: hashlib.sha256(lead.lead_id.encode()).digest())
    sample = sample[:leads] if leads is not None else sample
    sample = choose(found) if choose is not None else sample
    intended = {lead.lead_id: truth.majority(lead.records) for lead in sample}
    judged = [lead for lead in sample if intended[lead.lead_id] is not None]
    chosen = find_top_persons(session, {lead.display_name for lead in judged})
    facts = person_facts(session, [p for p in chosen.values() if p], as_of, model)
    now = dt.datetime.now(dt.UTC)
    worked: list[WorkedLead] = []
    without_status: set[str] = set()
    for done, lead in enumerate(judged, start=1):
        entity = intended[lead.lead_id]
        assert entity is not None
        person = chosen[lead.display_name]
        worked.append(
            _work(lead, entity, person, facts.get(person or ""), truth, thresholds, now,
                  without_status)
        )  # fmt: skip
        if progress is not None:
            progress(done, len(judged))
    redressed = None
    if redress is not None:
        rewalk = _rewalker(session, facts, truth, thresholds, as_of, now)
        after, counts, by_kind = redress_cases(session, worked, facts, truth, redress, rewalk)
        redressed = RedressFigures(redress, counts, by_kind, _figures(after, guards_on=True))
    result = Simulation(
        as_of,
        len(found),
        len(sample) - len(judged),
        len(without_status),
        worked,
        _figures(worked, guards_on=True),
        _figures(worked, guards_on=False),
        redressed,
    )
    allowed.record(
        session,
        CasesSimulated(
            truth_records=str(truth_records),
            truth_persons=str(truth_persons),
            as_of=as_of.isoformat(),
            leads=len(worked),
            guards_on=result.on.counts,
            guards_off=result.off.counts,
        ),
    )
    return result


def _work(
    lead: Lead,
    intended: str,
    person: str | None,
    facts: PersonFacts | None,
    truth: GroundTruth,
    thresholds: Thresholds,
    now: dt.datetime,
    without_status: set[str],
) -> WorkedLead:
    intended_truth = _true(truth, intended, without_status)
    if person is None or facts is None:
        nobody = Walk(Outcome.NO_PROFILE)
        return WorkedLead(lead, intended, None, None, None, intended_truth.actionable,
                          False, False, False, nobody, nobody)  # fmt: skip
    entity = truth.majority(facts.records)
    acted_on = _true(truth, entity, without_status) if entity else TruePerson("unknown", None)
    top = facts.addresses.addresses[0].address if facts.addresses.addresses else None
    variants = facts.variants.get(top or "", frozenset())
    stand_in = _stand_in(lead, facts, thresholds, now)
    return WorkedLead(
        lead=lead,
        intended=intended,
        chosen=person,
        chosen_entity=entity,
        address=top,
        actionable=intended_truth.actionable,
        right_person=entity == intended,
        protected=acted_on.protected,
        wrong_address=acted_on.address_key is None or acted_on.address_key not in variants,
        on=_walk(lead, person, stand_in, top, guards_on=True),
        off=_walk(lead, person, stand_in, top, guards_on=False),
    )


def _rewalker(
    session: Session,
    facts: Mapping[str, PersonFacts],
    truth: GroundTruth,
    thresholds: Thresholds,
    as_of: dt.date,
    opened: dt.datetime,
) -> Rewalk:
    """Work a lead again after its person's disputes: the case was opened and the identity
    confirmed at ``opened``, before them; from the action on, the steps see what the server
    gathers now (the disputes' effects, and the changes they made to the person)."""

    def rewalk(w: WorkedLead, changes: tuple[str, ...]) -> WorkedLead:
        assert w.chosen is not None
        assert w.chosen_entity is not None
        before = _stand_in(w.lead, facts[w.chosen], thresholds, opened)
        case = Case(person_id=w.chosen, origin=analyst_origin(ANALYST, w.lead.found, w.lead))
        now = gather_facts(session, case, thresholds, as_of)
        now = replace(
            now, cleared=frozenset(), confirmed_at=opened, confirmed_by=ANALYST.username,
            changes=changes, seen={ANALYST.username: opened}, proposer=ANALYST.username,
        )  # fmt: skip
        top = now.addresses.addresses[0].address if now.addresses.addresses else None
        later = LaterFacts(now, top, dt.datetime.now(dt.UTC))
        walk = _walk(w.lead, w.chosen, before, w.address, guards_on=True, later=later)
        lives_at = _true(truth, w.chosen_entity, set()).address_key
        variants = facts[w.chosen].variants.get(top or "", frozenset())
        wrong_address = lives_at is None or lives_at not in variants
        return replace(w, address=top, wrong_address=wrong_address, on=walk)

    return rewalk


def _true(truth: GroundTruth, entity: str, without_status: set[str]) -> TruePerson:
    found = truth.persons.get(entity)
    if found is None:
        without_status.add(entity)
        return TruePerson("unknown", None)
    return found


def _stand_in(
    lead: Lead, facts: PersonFacts, thresholds: Thresholds, now: dt.datetime
) -> CaseFacts:
    """The facts of a case opened on the profile the analyst took, citing the lead, as the
    server would gather them: read and confirmed just now, no legal reviewer asked."""
    return CaseFacts(
        person_exists=True,
        assurance=facts.assurance,
        status=facts.status,
        nearby=facts.nearby,
        grounds=assess_grounds(
            facts.status,
            lead.records,
            frozenset(facts.records),
            facts.births,
            facts.in_country_since,
        ),
        cleared=frozenset(),  # a hurried analyst asks no legal reviewer
        addresses=facts.addresses,
        confirmed_at=now,
        confirmed_by=ANALYST.username,
        changed_at=None,  # read and confirmed just now: after anything resolution changed
        changes=(),
        seen={ANALYST.username: now},
        proposer=ANALYST.username,
        thresholds=thresholds,
        as_of=facts.addresses.as_of,
    )


def _walk(
    lead: Lead,
    person: str,
    facts: CaseFacts,
    address: str | None,
    *,
    guards_on: bool,
    later: LaterFacts | None = None,
) -> Walk:
    """Propose each step of PATH as soon as it is allowed, as the server would judge it;
    from the action on with ``later``'s facts, if given."""
    # Opened on the profile the analyst took, citing the lead with its finding as the reason,
    # as open_case records a case opened on a person for a lead; never added to the session.
    origin = analyst_origin(ANALYST, lead.found, lead)
    case = Case(person_id=person, state=State.LEAD.value, address=None, origin=origin)
    acted = reconfirmed = False
    note = f"as the lead found: {lead.found}"  # the hurried analyst's reason for each step
    for action in PATH:
        if later is not None and action == LATER_FROM:
            facts, address = later.facts, later.address
        transition = BY_ACTION[action]
        state = State(case.state)
        if state not in transition.sources:
            raise RuntimeError(f"the lifecycle table no longer leads from {state} by {action}")
        actor = next(a for a in STAFF if a.role in transition.roles)
        fields = {Field.REASON.value: note}  # every step needs one; no guard reads it
        if Field.ADDRESS in transition.fields:
            if address is None:
                return Walk(Outcome.NO_ADDRESS, action, reconfirmed=reconfirmed)
            fields[Field.ADDRESS.value] = address
        if guards_on:
            failed = _failed(action, facts, actor, fields, case)
            if later is not None and facts.changes and set(failed) & IDENTITY_CHANGED:
                # The person changed since the identity was confirmed: the analyst reads the
                # profile again and confirms it again, as the guard asks, then goes on.
                seen = {ANALYST.username: later.read_again_at}
                facts = replace(facts, seen=seen, confirmed_at=later.read_again_at, changes=())
                reconfirmed = True
                noted = {Field.REASON.value: note}
                again = _failed("reconfirm_identity", facts, ANALYST, noted, case)
                failed = again or _failed(action, facts, actor, fields, case)
                action = "reconfirm_identity" if again else action
            if failed:
                outcome = Outcome.ACTED if acted else Outcome.STOPPED
                return Walk(outcome, action, failed, reconfirmed)
        case.state = transition.target_from(state).value
        if Field.ADDRESS in transition.fields:
            case.address = address
        acted = acted or action == ACTION
    return Walk(Outcome.ACTED if acted else Outcome.STOPPED, PATH[-1], reconfirmed=reconfirmed)


def _failed(
    action: str, facts: CaseFacts, actor: Actor, fields: Mapping[str, str], case: Case
) -> tuple[str, ...]:
    """The guards of ``action`` that fail, in the table's order."""
    results = [evaluate(g, facts, actor, fields, case) for g in BY_ACTION[action].guards]
    return tuple(r.guard.value for r in results if not r.passed)


def _figures(worked: list[WorkedLead], *, guards_on: bool) -> SimulationFigures:
    counts = dict.fromkeys(COUNTS, 0)
    stopped_by: Counter[str] = Counter()
    stopped_at: Counter[str] = Counter()
    for w in worked:
        walk = w.on if guards_on else w.off
        other = w.off if guards_on else w.on
        counts["leads"] += 1
        counts["actionable"] += w.actionable
        if walk.outcome is Outcome.ACTED:
            counts["actions"] += 1
            counts["right_person_right_address"] += w.right_person and not w.wrong_address
            counts["wrong_person"] += not w.right_person
            counts["protected"] += w.protected
            counts["wrong_address"] += w.wrong_address
            counts["wrongful"] += w.wrongful
            counts["actionable_reached"] += w.actionable and w.right_person
        elif walk.outcome is Outcome.STOPPED:
            counts["stopped"] += 1
            stopped_by[walk.guards[0]] += 1
            stopped_at[walk.step or ""] += 1
            would_harm = other.outcome is Outcome.ACTED and w.wrongful
            counts["rightly_stopped"] += would_harm or not w.actionable
        else:
            counts[walk.outcome.value] += 1
    return SimulationFigures(counts, dict(stopped_by), dict(stopped_at))
