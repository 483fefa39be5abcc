"""Ingest: source files -> validated canonical records with provenance; bad rows quarantined.

Public entry point: :func:`ingest_file`.
"""

from caseline.ingest.loader import IngestSummary, ingest_file

__all__ = ["IngestSummary", "ingest_file"]
