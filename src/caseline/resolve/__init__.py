"""Resolution: records -> persons. Public entry points: resolve_persons (a full run),
resolve_incrementally (new records only) and evaluate_resolution. The first two run the
model on an `Engine` (DuckDB by default; `engine_named` turns a command line's name into one).
For reviewers: explain_pair (a pair's waterfall), decide_pair (must- and cannot-links) and
list_person_events (merges and splits). For data engineers: list_resolution_runs (each run
with the figures evaluated after it) and PlacementService (a batch ingested and placed by a
long-lived process)."""

from caseline.resolve.decisions import Decision, DecisionReceipt, decide_pair
from caseline.resolve.engine import ENGINE_NAMES, Engine, engine_named
from caseline.resolve.evaluation import PairwiseScores, evaluate_resolution
from caseline.resolve.explain import ComparisonTerm, PairExplanation, explain_pair
from caseline.resolve.incremental import IncrementalSummary, resolve_incrementally
from caseline.resolve.person_events import PersonChangeEvent, list_person_events
from caseline.resolve.pipeline import ResolutionSummary, resolve_persons
from caseline.resolve.placement_service import BatchPlacement, PlacementService
from caseline.resolve.runs import (
    AddressFigures,
    GroupAccuracy,
    ResolutionFigures,
    ResolutionRunSummary,
    list_resolution_runs,
)

__all__ = [
    "ENGINE_NAMES",
    "AddressFigures",
    "BatchPlacement",
    "ComparisonTerm",
    "Decision",
    "DecisionReceipt",
    "Engine",
    "GroupAccuracy",
    "IncrementalSummary",
    "PairExplanation",
    "PairwiseScores",
    "PersonChangeEvent",
    "PlacementService",
    "ResolutionFigures",
    "ResolutionRunSummary",
    "ResolutionSummary",
    "decide_pair",
    "engine_named",
    "evaluate_resolution",
    "explain_pair",
    "list_person_events",
    "list_resolution_runs",
    "resolve_incrementally",
    "resolve_persons",
]
