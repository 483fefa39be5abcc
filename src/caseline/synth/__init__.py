"""The synthetic world: a population with life histories, the source files it leaves, and the truth.

Public entry point: :func:`generate_world`. Deterministic for a given seed.
"""

from caseline.synth.world import WorldSummary, generate_world

__all__ = ["WorldSummary", "generate_world"]
