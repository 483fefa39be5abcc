"""What an oversight report is: a period, a titled table of plain cells, and the event that
reading one leaves in the audit trail.

Every report is read through :func:`report_permit` (the role must grant ``read_reports``)
and recorded with :func:`recorded` in the reader's transaction, one ``read_report`` event per
report read. A report shows counts, user names and opaque ids (person, case), never a
person's name or records: auditors read reports and cannot read persons.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy.orm import Session

from caseline.errors import InputError
from caseline.oversight.access import Actor, Permission
from caseline.oversight.events import Event, Permit, permit

Cell = str | int | float | None
# A spreadsheet runs a cell that starts with one of these as a formula; a purpose or a
# reason is free text a user typed, so a CSV export defuses them.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Period:
    """The days a report covers, both inclusive; no start means since the first event."""

    start: dt.date | None
    end: dt.date

    @classmethod
    def of(cls, start: dt.date | None = None, end: dt.date | None = None) -> Period:
        """A period ending today unless ``end`` says otherwise; refused if it ends first."""
        last = end or dt.datetime.now(dt.UTC).date()
        if start is not None and start > last:
            raise InputError(f"the period starts ({start}) after it ends ({last})", where="from")
        return cls(start, last)

    @property
    def since(self) -> dt.datetime | None:
        """The first moment in the period (UTC), or None for no lower bound."""
        return None if self.start is None else _midnight(self.start)

    @property
    def until(self) -> dt.datetime:
        """The first moment after the period (UTC)."""
        return _midnight(self.end + dt.timedelta(days=1))


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A stored moment as UTC (SQLite gives it back without its zone)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class Chart:
    """Which column labels each bar and which column's number the bar draws."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Report:
    """One report as read: a table of plain cells, with what it covers and how to read it."""

    name: str
    title: str
    period: Period
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""
    chart: Chart | None = None

    def records(self) -> list[dict[str, Cell]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def as_dict(self) -> dict[str, object]:
        return {
            "report": self.name,
            "title": self.title,
            "from": self.period.start.isoformat() if self.period.start else None,
            "to": self.period.end.isoformat(),
            "note": self.note,
            "columns": list(self.columns),
            "rows": self.records(),
        }

    @property
    def csv_name(self) -> str:
        """A file name for the CSV: the report and its period."""
        start = self.period.start.isoformat() if self.period.start else "start"
        return f"{self.name}_{start}_{self.period.end.isoformat()}.csv"

    def csv(self) -> str:
        """The table as CSV, a header line first; text a spreadsheet would run is quoted
        with a leading apostrophe."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows([_safe_cell(cell) for cell in row] for row in self.rows)
        return out.getvalue()

    def bars(self) -> list[tuple[str, float, float]]:
        """The chart's bars: label, value, and the value's share of the largest (0-1)."""
        if self.chart is None or not self.rows:
            return []
        label = self.columns.index(self.chart.label)
        value = self.columns.index(self.chart.value)
        numbers = [(str(row[label]), float(row[value] or 0)) for row in self.rows]
        top = max((n for _, n in numbers), default=0.0)
        return [(name, n, n / top if top > 0 else 0.0) for name, n in numbers]


def _safe_cell(cell: Cell) -> Cell:
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


@dataclass(frozen=True, kw_only=True)
class ReportRead(Event):
    action = "read_report"
    object_type = "report"
    permission = Permission.READ_REPORTS
    object_field = "report"
    summary = "an oversight report read, with the period it covered and how many rows it showed"

    report: str
    date_from: str | None
    date_to: str
    rows: int


def report_permit(actor: Actor) -> Permit[ReportRead]:
    """Leave to read a report; refused (AccessDenied) unless the role grants read_reports."""
    return permit(actor, ReportRead)


def recorded(session: Session, allowed: Permit[ReportRead], report: Report) -> Report:
    """Record that the report was read, in the reader's transaction, and return it."""
    allowed.record(
        session,
        ReportRead(
            report=report.name,
            date_from=report.period.start.isoformat() if report.period.start else None,
            date_to=report.period.end.isoformat(),
            rows=len(report.rows),
        ),
    )
    return report
