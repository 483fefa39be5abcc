"""Resolution: records -> persons. Public entry points: resolve_persons (a full run),
resolve_incrementally (new records only) and evaluate_resolution. The first two run the
model on an `Engine` (DuckDB by default; `engine_named` turns a command line's name into one)."""

from caseline.resolve.engine import ENGINE_NAMES, Engine, engine_named
from caseline.resolve.evaluation import PairwiseScores, evaluate_resolution
from caseline.resolve.incremental import IncrementalSummary, resolve_incrementally
from caseline.resolve.pipeline import ResolutionSummary, resolve_persons

__all__ = [
    "ENGINE_NAMES",
    "Engine",
    "IncrementalSummary",
    "PairwiseScores",
    "ResolutionSummary",
    "engine_named",
    "evaluate_resolution",
    "resolve_incrementally",
    "resolve_persons",
]
