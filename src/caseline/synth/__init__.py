"""The synthetic world: a population with life histories, the source files it leaves, and the truth.

Public entry point: :func:`generate_world`. Deterministic for a given seed.
"""

from caseline.synth.calendar import DEFAULT_REFERENCE_DATE
from caseline.synth.errors import ErrorLog, ErrorRates
from caseline.synth.hard_cases import HardCases
from caseline.synth.world import FORMATS, WorldSummary, generate_world

__all__ = [
    "DEFAULT_REFERENCE_DATE",
    "FORMATS",
    "ErrorLog",
    "ErrorRates",
    "HardCases",
    "WorldSummary",
    "generate_world",
]
