"""Ingest: source files -> validated canonical records with provenance; bad rows quarantined.

Public entry points: :func:`plan_ingest` (which file is which source), :func:`ingest_file`,
and :func:`list_problems` to see what it left out.
"""

from caseline.ingest.loader import IngestSummary, ingest_file
from caseline.ingest.plan import estimate_rows, plan_ingest
from caseline.ingest.problems import StoredProblem, list_problems

__all__ = [
    "IngestSummary",
    "StoredProblem",
    "estimate_rows",
    "ingest_file",
    "list_problems",
    "plan_ingest",
]
