"""Is identity assurance right? The share of pure persons in each assurance band.

A person is pure when every record of it that the truth lists belongs to one true person.
Single-record persons are pure by construction and are counted apart, so they cannot
flatter the top band.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # evaluation imports this module
    from caseline.resolve.evaluation import TruthRecord

BANDS = ((0.0, 0.5), (0.5, 0.8), (0.8, 0.95), (0.95, 0.99), (0.99, 1.0))


@dataclass(frozen=True, slots=True)
class AssuranceBand:
    low: float
    high: float
    persons: int
    pure: int

    @property
    def purity(self) -> float:
        return self.pure / self.persons if self.persons else 1.0

    @property
    def label(self) -> str:
        return f"[{self.low:.2f}, {self.high:.2f}{']' if self.high == 1.0 else ')'}"

    def as_dict(self) -> dict[str, object]:
        return {"band": self.label, "persons": self.persons, "purity": round(self.purity, 6)}


def purity_by_band(
    truth: list[TruthRecord], person_of: Mapping[str, str], assurance: Mapping[str, float | None]
) -> list[AssuranceBand]:
    """Bands of the multi-record persons' assurance (persons not assessed are left out)."""
    entities_of: dict[str, set[str]] = defaultdict(set)
    for t in truth:
        person = person_of.get(t.record_id) or (
            person_of.get(t.alternative_id) if t.alternative_id else None
        )
        if person is not None:
            entities_of[person].add(t.entity_id)
    sizes: dict[str, int] = defaultdict(int)
    for person in person_of.values():
        sizes[person] += 1
    counts = {band: [0, 0] for band in BANDS}
    for person, entities in entities_of.items():
        value = assurance.get(person)
        if value is None or sizes[person] < 2:
            continue
        band = next(b for b in BANDS if b[0] <= value < b[1] or (b[1] == 1.0 and value >= 1.0))
        counts[band][0] += 1
        counts[band][1] += len(entities) == 1
    return [AssuranceBand(low, high, n, pure) for (low, high), (n, pure) in counts.items()]
