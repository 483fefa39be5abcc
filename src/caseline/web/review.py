"""Pages for reviewing links: the queue, one pair at a time beside its decision form, and a
pair's explanation as a waterfall (why linked, or why not). Thin: parse, call
:mod:`caseline.cases`, render; the waterfall's geometry is laid out here, drawn by the
template as inline SVG."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caseline.api.deps import Authorized, DatabaseDep, NotSignedIn
from caseline.cases import (
    QueueFilter,
    ReviewItem,
    ReviewOutcome,
    decide_review_pair,
    explain_for_work,
    list_review_pairs,
    next_review_pair,
    read_review_pair,
)
from caseline.errors import AccessDenied, InputError, NotFoundError, StateError
from caseline.oversight import Actor, Permission
from caseline.resolve import PairExplanation
from caseline.web.templating import templates

router = APIRouter(include_in_schema=False)
Reviewer = Annotated[Actor, Authorized(Permission.DECIDE_LINKS)]
Explainer = Annotated[Actor, Authorized(Permission.EXPLAIN_LINKS)]
REFUSED = (InputError, NotFoundError, StateError, AccessDenied)
DECIDED_PAGE = 20
OUTCOME_LABELS = {
    ReviewOutcome.SAME_PERSON.value: "same person",
    ReviewOutcome.DIFFERENT_PERSONS.value: "different persons",
    ReviewOutcome.UNSURE.value: "unsure",
}
WHY_LABELS = {
    "near_threshold": "near the threshold",
    "low_assurance": "the weakest link of a person of low assurance",
}
# The site's policy (server.CONTENT_SECURITY_POLICY) and, for the review page alone, its own
# script: the single-key shortcuts of the review pane (static/review.js, no inline script).
REVIEW_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of the waterfall: it starts where the bars before it ended (the total starts
    at 0), and runs right for weight for, left for weight against."""

    label: str
    weight: float
    start: float
    kind: str  # prior | term | total

    @property
    def end(self) -> float:
        return self.weight if self.kind == "total" else self.start + self.weight


@dataclass(frozen=True, slots=True)
class Waterfall:
    bars: tuple[Bar, ...]
    low: float  # the axis's ends, in match weight
    high: float
    threshold_weight: float
    width: int = 640
    label_width: int = 220
    row_height: int = 22

    def x(self, weight: float) -> float:
        """Where a match weight falls on the chart, in pixels."""
        span = self.high - self.low
        plot = self.width - self.label_width - 70
        return round(self.label_width + (weight - self.low) / span * plot, 2)

    @property
    def height(self) -> int:
        return (len(self.bars) + 2) * self.row_height

    def span(self, bar: Bar) -> tuple[float, float]:
        """The bar's left edge and width in pixels (a bar of no weight is a 1 px tick)."""
        ends = sorted((self.x(bar.start), self.x(bar.end)))
        return ends[0], max(round(ends[1] - ends[0], 2), 1.0)


def waterfall(explanation: PairExplanation) -> Waterfall:
    """The explanation as bars: the prior, each comparison's total weight, then the total."""
    bars = [Bar("prior (before comparing)", explanation.prior_weight, 0.0, "prior")]
    running = explanation.prior_weight
    for term in explanation.terms:
        bars.append(Bar(term.comparison.replace("_", " "), term.total_weight, running, "term"))
        running += term.total_weight
    bars.append(Bar("match weight", explanation.match_weight, 0.0, "total"))
    points = [0.0, explanation.threshold_weight] + [b.start for b in bars] + [b.end for b in bars]
    low, high = min(points), max(points)
    margin = max((high - low) * 0.05, 1.0)
    return Waterfall(tuple(bars), low - margin, high + margin, explanation.threshold_weight)


def level_label(term: Any) -> str:
    """A comparison's level in words: exact, close (how), different, or missing."""
    if term.agreement == "close":
        return f"close ({term.level})"
    if term.agreement == "missing":
        return "missing (not compared)"
    return str(term.agreement)


def shown_value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    database: DatabaseDep,
    actor: Reviewer,
    pair: Annotated[int | None, Query(ge=1, description="A queue pair to show")] = None,
    decided: Annotated[int | None, Query(ge=1, description="The pair just decided")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The first undecided pair (or ``pair``) beside its decision form; the decided pairs."""
    return _review(request, database, actor, pair=pair, decided=decided, offset=offset,
                   error=None, form={}, status_code=200)  # fmt: skip


@router.post("/review/pairs/{pair_id}/decision")
def decide(
    request: Request,
    pair_id: int,
    database: DatabaseDep,
    actor: Reviewer,
    decision: Annotated[str, Form(max_length=32)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Decide the pair and go on to the next undecided one."""
    try:
        with database.transaction() as session:
            decide_review_pair(session, actor, pair_id, decision, reason)
    except NotSignedIn:
        raise
    except REFUSED as exc:
        return _review(request, database, actor, pair=pair_id, decided=None, offset=0,
                       error=str(exc), form={"reason": reason, "decision": decision},
                       status_code=422 if isinstance(exc, InputError) else 409)  # fmt: skip
    return RedirectResponse(f"/review?{urlencode({'decided': pair_id})}", status_code=303)


@router.get("/pairs/explain", response_class=HTMLResponse)
def pair_page(
    request: Request,
    database: DatabaseDep,
    actor: Explainer,
    left: Annotated[str, Query(max_length=64)] = "",
    right: Annotated[str, Query(max_length=64)] = "",
    purpose: Annotated[str, Query(max_length=256)] = "",
    as_of: Annotated[dt.date | None, Query()] = None,
) -> Response:
    """Why two records were linked, or why not: the waterfall beside the comparison table,
    read for the work the purpose names (a form asks for it when it is missing or refused)."""
    form = {"left": left, "right": right, "purpose": purpose}
    explanation, error, status_code = None, None, 200
    if left and right and purpose:
        try:
            with database.transaction() as session:
                explanation = explain_for_work(session, actor, left, right, purpose, as_of)
        except NotSignedIn:
            raise
        except REFUSED as exc:
            error = str(exc)
            status_code = 403 if isinstance(exc, AccessDenied) else 422
    return templates.TemplateResponse(
        request,
        "pair.html",
        {
            "actor": actor,
            "section": "review",
            "form": form,
            "error": error,
            **_explained(explanation),
        },
        status_code=status_code,
    )


def _explained(explanation: PairExplanation | None) -> dict[str, Any]:
    return {
        "x": explanation,
        "chart": waterfall(explanation) if explanation else None,
        "level_label": level_label,
        "shown_value": shown_value,
    }


def _review(
    request: Request,
    database: DatabaseDep,
    actor: Actor,
    *,
    pair: int | None,
    decided: int | None,
    offset: int,
    error: str | None,
    form: dict[str, str],
    status_code: int,
) -> Response:
    current: ReviewItem | None = None
    explanation, explain_error = None, None
    with database.transaction() as session:
        current = (
            read_review_pair(session, actor, pair) if pair else next_review_pair(session, actor)
        )
        just_decided = read_review_pair(session, actor, decided) if decided else None
        done = list_review_pairs(
            session, actor, shown=QueueFilter.DECIDED, offset=offset, limit=DECIDED_PAGE
        )
        undecided = list_review_pairs(session, actor, shown=QueueFilter.UNDECIDED, limit=1)
    if current is not None:
        try:
            with database.transaction() as session:
                explanation = explain_for_work(
                    session, actor, current.left_record_id, current.right_record_id,
                    current.purpose,
                )  # fmt: skip
        except NotSignedIn:
            raise
        except REFUSED as exc:
            explain_error = str(exc)
    page = templates.TemplateResponse(
        request,
        "review.html",
        {
            "actor": actor,
            "section": "review",
            "current": current,
            "just_decided": just_decided,
            "decided": done,
            "undecided": undecided.undecided,
            "offset": offset,
            "page": DECIDED_PAGE,
            "error": error,
            "explain_error": explain_error,
            "form": form,
            "outcomes": OUTCOME_LABELS,
            "why_labels": WHY_LABELS,
            "explain_link": _explain_link,
            **_explained(explanation),
        },
        status_code=status_code,
    )
    page.headers["Content-Security-Policy"] = REVIEW_CONTENT_SECURITY_POLICY
    return page


def _explain_link(item: ReviewItem) -> str:
    query = {"left": item.left_record_id, "right": item.right_record_id, "purpose": item.purpose}
    return f"/pairs/explain?{urlencode(query)}"
