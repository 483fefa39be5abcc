"""Hashes held sorted with the positions of the records that hold them."""

from __future__ import annotations

import numpy as np


class SortedHashes:
    """Hashes with the positions of the records that hold them, sorted by hash, so that the
    records holding any of a few hashes are found by binary search."""

    def __init__(self) -> None:
        self._hashes = np.empty(0, dtype=np.uint64)
        self._positions = np.empty(0, dtype=np.int64)

    def insert(self, hashes: np.ndarray, positions: np.ndarray) -> None:
        """Add the ``hashes`` of the records at ``positions`` (one record may hold several)."""
        order = np.argsort(hashes)
        if not len(self._hashes):  # the first records: nothing to merge with
            self._hashes, self._positions = hashes[order], positions[order]
            return
        at = np.searchsorted(self._hashes, hashes[order])
        self._hashes = np.insert(self._hashes, at, hashes[order])
        self._positions = np.insert(self._positions, at, positions[order])

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """The positions of the records holding any of ``hashes``."""
        wanted = np.unique(hashes)
        low = np.searchsorted(self._hashes, wanted, "left")
        counts = np.searchsorted(self._hashes, wanted, "right") - low
        # Each wanted hash's run of positions, laid end to end.
        starts = np.repeat(low - np.cumsum(counts) + counts, counts)
        found: np.ndarray = self._positions[starts + np.arange(counts.sum())]
        return found
