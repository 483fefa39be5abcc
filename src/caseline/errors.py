"""Caseline's exceptions, in one place.

CaselineError
├── InputError           bad input a user can fix; names where and why
│   ├── MappingError     a source mapping that cannot be applied
│   └── MissingExtra     an optional part that is not installed; names the extra
├── NotFoundError        the object asked for does not exist
├── AccessDenied         the actor's role or purpose does not allow the action
└── StateError           the workspace is not ready for the step (e.g. nothing resolved yet)
    ├── ConflictError    another change got there first; says what the object is now
    └── GuardStopped     a case's guard stops the step; says which, why and what clears it
"""

from __future__ import annotations


class CaselineError(Exception):
    """Base of every error Caseline raises on purpose."""


class InputError(CaselineError):
    """Input that cannot be used; the message says where (file, line, field) and why."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class MappingError(InputError):
    """A source mapping that does not fit the file it is applied to."""


class MissingExtra(InputError):
    """An optional part of Caseline (say, the Spark engine) that is not installed; the
    message says how to install it."""


class NotFoundError(CaselineError):
    """The object asked for does not exist."""


class AccessDenied(CaselineError):
    """The actor may not do this: wrong role, missing purpose, or no valid session."""


class StateError(CaselineError):
    """The workspace is not ready for this step."""


class ConflictError(StateError):
    """Another change got there first (two steps on one case at once); ``details`` says what
    the object is now, so the client can look again."""

    def __init__(self, message: str, *, details: dict[str, object]) -> None:
        self.details = details
        super().__init__(message)


class GuardStopped(StateError):
    """A guard of the case lifecycle stops the step; ``details`` lists every guard's result."""

    def __init__(self, message: str, *, details: dict[str, object]) -> None:
        self.details = details
        super().__init__(message)
