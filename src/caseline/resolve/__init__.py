"""Resolution: records -> persons. Public entry points: resolve_persons (a full run),
resolve_incrementally (new records only) and evaluate_resolution."""

from caseline.resolve.evaluation import PairwiseScores, evaluate_resolution
from caseline.resolve.incremental import IncrementalSummary, resolve_incrementally
from caseline.resolve.pipeline import ResolutionSummary, resolve_persons

__all__ = [
    "IncrementalSummary",
    "PairwiseScores",
    "ResolutionSummary",
    "evaluate_resolution",
    "resolve_incrementally",
    "resolve_persons",
]
