"""Resolution: records -> persons. Public entry points: resolve_persons and evaluate_resolution."""

from caseline.resolve.evaluation import PairwiseScores, evaluate_resolution
from caseline.resolve.pipeline import ResolutionSummary, resolve_persons

__all__ = ["PairwiseScores", "ResolutionSummary", "evaluate_resolution", "resolve_persons"]
