"""Cases: the lifecycle from lead to outcome, above profiles.

Public entry points: :func:`list_leads` and :func:`page_of_leads`; :func:`list_departures`
and :func:`page_of_departures` (a page of the list kept per data version, ``lead_cache.py``);
:func:`open_case`, :func:`list_cases`, :func:`read_case`, :func:`take_step` and
:func:`read_person_on_case`;
:func:`claim_case`, :func:`assign_case` and :func:`list_board`, who works a case;
:func:`state_purpose`, :func:`read_person`, :func:`read_person_events` and
:func:`work_on_person`, reads of a person bound to the reader's work (``purposes.py``),
and :func:`read_person_graph`, its link graph (``person_graph.py``);
:func:`file_dispute`, :func:`list_disputes`, :func:`read_dispute`, :func:`start_review` and
:func:`decide_dispute`, disputes and redress (``disputes.py``);
:func:`preview_retention`, :func:`apply_retention` and :func:`list_retention_flags`,
retention purges and the persons and cases they flag (``retention.py``);
:func:`list_review_pairs`, :func:`next_review_pair`, :func:`read_review_pair`,
:func:`decide_review_pair` and :func:`explain_for_work`, the pair review queue and
explanations read for work (``pair_review.py``);
:func:`simulate_cases`, the offline wrongful-action measurement;
:func:`propose_policy`, :func:`publish_policy`, :func:`list_policy_versions`,
:func:`read_policy_version`, :func:`measure_policy_impact` and :func:`policy_in_force`, the
priority policy that orders leads and cases (``priority_*.py``); :func:`read_report`, the
oversight reports (:data:`REPORTS`). Each checks the actor's
role through a permit and records its audit event in the caller's transaction; a step is
taken only as the lifecycle table (:mod:`caseline.cases.workflow`) and its guards allow.
"""

from caseline.cases.assignment import (
    Assignment,
    BoardCase,
    assign_case,
    assignable_users,
    assignee_of,
    assignees,
    claim_case,
    list_board,
    may_claim,
)
from caseline.cases.departures import (
    Departure,
    DepartureState,
    list_departures,
    page_of_departures,
)
from caseline.cases.disputes import (
    DisputeSummary,
    decide_dispute,
    file_dispute,
    list_disputes,
    read_dispute,
    start_review,
)
from caseline.cases.dossier import DossierCheck, check_dossier
from caseline.cases.guards import GuardResult, Thresholds
from caseline.cases.lead_cache import MAX_PAGE_SIZE as MAX_LIST_PAGE
from caseline.cases.lead_cache import PAGE_SIZE as LIST_PAGE
from caseline.cases.lead_cache import Page as ListPage
from caseline.cases.leads import RULE_LABELS, Lead, LeadRule, find_leads, list_leads, page_of_leads
from caseline.cases.pair_review import (
    QueueFilter,
    ReviewItem,
    ReviewOutcome,
    ReviewQueue,
    decide_review_pair,
    explain_for_work,
    list_review_pairs,
    next_review_pair,
    read_review_pair,
)
from caseline.cases.person_graph import read_person_graph
from caseline.cases.priority_impact import ImpactReport, WorldTruth, read_world_truth
from caseline.cases.priority_order import case_priority, opened_under
from caseline.cases.priority_plot import write_impact_plot
from caseline.cases.priority_policy import (
    FACTS,
    PriorityPolicy,
    default_policy,
    load_policy_file,
    parse_policy,
)
from caseline.cases.priority_ranking import Priority
from caseline.cases.priority_simulation import PolicySimulation, simulate_under_policy
from caseline.cases.priority_versions import (
    PolicyInForce,
    PolicyVersion,
    list_policy_versions,
    measure_policy_impact,
    policy_in_force,
    propose_policy,
    publish_policy,
    read_policy_version,
)
from caseline.cases.purposes import (
    WorkChoice,
    read_person,
    read_person_events,
    state_purpose,
    work_on_person,
)
from caseline.cases.redress import RedressFigures, RedressSettings
from caseline.cases.reports import (
    REPORT_PAGE,
    REPORTS,
    ReportKind,
    ReportPage,
    read_report,
    read_report_page,
)
from caseline.cases.retention import (
    DependentPerson,
    RetentionFlagSummary,
    RetentionPreview,
    RetentionRun,
    SourceRetention,
    apply_retention,
    list_retention_flags,
    preview_retention,
)
from caseline.cases.service import (
    CaseDetail,
    CaseSummary,
    NextStep,
    Step,
    facts_of,
    list_cases,
    open_case,
    read_case,
    read_person_on_case,
    take_step,
)
from caseline.cases.simulation import Simulation, SimulationFigures, simulate_cases
from caseline.cases.workflow import (
    OUTCOMES,
    TRANSITIONS,
    Guard,
    State,
    Transition,
    lifecycle_markdown,
)
from caseline.profiles.disputed import DisputeKind, DisputeState

__all__ = [
    "FACTS",
    "LIST_PAGE",
    "MAX_LIST_PAGE",
    "OUTCOMES",
    "REPORTS",
    "REPORT_PAGE",
    "RULE_LABELS",
    "TRANSITIONS",
    "Assignment",
    "BoardCase",
    "CaseDetail",
    "CaseSummary",
    "Departure",
    "DepartureState",
    "DependentPerson",
    "DisputeKind",
    "DisputeState",
    "DisputeSummary",
    "DossierCheck",
    "Guard",
    "GuardResult",
    "ImpactReport",
    "Lead",
    "LeadRule",
    "ListPage",
    "NextStep",
    "PolicyInForce",
    "PolicySimulation",
    "PolicyVersion",
    "Priority",
    "PriorityPolicy",
    "QueueFilter",
    "RedressFigures",
    "RedressSettings",
    "ReportKind",
    "ReportPage",
    "RetentionFlagSummary",
    "RetentionPreview",
    "RetentionRun",
    "ReviewItem",
    "ReviewOutcome",
    "ReviewQueue",
    "Simulation",
    "SimulationFigures",
    "SourceRetention",
    "State",
    "Step",
    "Thresholds",
    "Transition",
    "WorkChoice",
    "WorldTruth",
    "apply_retention",
    "assign_case",
    "assignable_users",
    "assignee_of",
    "assignees",
    "case_priority",
    "check_dossier",
    "claim_case",
    "decide_dispute",
    "decide_review_pair",
    "default_policy",
    "explain_for_work",
    "facts_of",
    "file_dispute",
    "find_leads",
    "lifecycle_markdown",
    "list_board",
    "list_cases",
    "list_departures",
    "list_disputes",
    "list_leads",
    "list_policy_versions",
    "list_retention_flags",
    "list_review_pairs",
    "load_policy_file",
    "may_claim",
    "measure_policy_impact",
    "next_review_pair",
    "open_case",
    "opened_under",
    "page_of_departures",
    "page_of_leads",
    "parse_policy",
    "policy_in_force",
    "preview_retention",
    "propose_policy",
    "publish_policy",
    "read_case",
    "read_dispute",
    "read_person",
    "read_person_events",
    "read_person_graph",
    "read_person_on_case",
    "read_policy_version",
    "read_report",
    "read_report_page",
    "read_review_pair",
    "read_world_truth",
    "simulate_cases",
    "simulate_under_policy",
    "start_review",
    "state_purpose",
    "take_step",
    "work_on_person",
    "write_impact_plot",
]
