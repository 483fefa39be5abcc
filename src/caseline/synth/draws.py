"""Fast draws for the hot path: ``random.Random.randint`` costs several Python calls each."""

from __future__ import annotations

import random


def randint(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high], like ``rng.randint`` but one C call."""
    return low + int(rng.random() * (high - low + 1))
