"""What loading a file came to: counts, and the first few problems to show where and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    field: str
    reason: str
    quarantined: bool  # True: the row was not loaded; False: the value was left out

    def __str__(self) -> str:
        outcome = "row quarantined" if self.quarantined else "value left out"
        return f"line {self.line}, {self.field}: {self.reason} ({outcome})"


@dataclass(slots=True)
class LoadCounts:
    """Rows loaded and quarantined, values left out, and the first problems met."""

    loaded: int = 0
    quarantined: int = 0
    issues: int = 0
    examples: list[Problem] = field(default_factory=list)

    def quarantine(self, line: int, field_name: str, reason: str) -> None:
        self.quarantined += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(Problem(line, field_name, reason, True))

    def load(self, line: int, issues: Iterable[tuple[str, str]]) -> None:
        """A loaded record and its issues as (field, reason): a record's issues are shown
        together."""
        self.loaded += 1
        found = list(issues)
        self.issues += len(found)
        if found and len(self.examples) < EXAMPLES:
            self.examples += [Problem(line, f, reason, False) for f, reason in found]

    def first_examples(self) -> tuple[Problem, ...]:
        return tuple(sorted(self.examples, key=lambda p: p.line)[:EXAMPLES])
