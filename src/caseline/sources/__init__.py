"""Source adapters: one module per source, each turning rows into canonical records."""

from caseline.errors import InputError
from caseline.sources.base import (
    CanonicalRecord,
    FieldError,
    Row,
    SourceAdapter,
    ValueIssue,
    record_id_for,
)
from caseline.sources.court import CourtSource
from caseline.sources.entry_exit import EntryExitSource
from caseline.sources.immigration_status import ImmigrationStatusSource
from caseline.sources.motor_vehicle import MotorVehicleSource
from caseline.sources.tax import TaxSource
from caseline.sources.utility import UtilitySource

SOURCES: dict[str, SourceAdapter] = {
    adapter.name: adapter
    for adapter in (
        MotorVehicleSource(),
        TaxSource(),
        UtilitySource(),
        EntryExitSource(),
        ImmigrationStatusSource(),
        CourtSource(),
    )
}


def adapter_for(source: str) -> SourceAdapter:
    """The adapter registered under ``source``, or an InputError listing the known ones."""
    try:
        return SOURCES[source]
    except KeyError:
        known = ", ".join(sorted(SOURCES))
        raise InputError(
            f"unknown source {source!r}; known sources: {known} "
            "(or describe the file with --mapping)"
        ) from None


__all__ = [
    "SOURCES",
    "CanonicalRecord",
    "FieldError",
    "Row",
    "SourceAdapter",
    "ValueIssue",
    "adapter_for",
    "record_id_for",
]
