"""Ingest: source files -> validated canonical records with provenance; bad rows quarantined.

Public entry points: :func:`plan_ingest` (which file is which source), :func:`ingest_file`,
and :func:`list_problems` to see what it left out; :func:`list_ingest_runs` and
:func:`run_problems` for the data engineer's view of each file.
"""

from caseline.ingest.loader import IngestSummary, ingest_file
from caseline.ingest.plan import estimate_rows, plan_ingest
from caseline.ingest.problems import StoredProblem, list_problems
from caseline.ingest.runs import (
    MAX_PROBLEMS_PAGE,
    IngestRunSummary,
    RunProblem,
    RunProblems,
    ValueIssueCount,
    list_ingest_runs,
    masked_reason,
    run_problems,
)

__all__ = [
    "MAX_PROBLEMS_PAGE",
    "IngestRunSummary",
    "IngestSummary",
    "RunProblem",
    "RunProblems",
    "StoredProblem",
    "ValueIssueCount",
    "estimate_rows",
    "ingest_file",
    "list_ingest_runs",
    "list_problems",
    "masked_reason",
    "plan_ingest",
    "run_problems",
]
