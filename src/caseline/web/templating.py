"""The page renderer and what every template may call: which pages the signed-in role may
use, how a rule, a state or a moment reads, and links that keep a page's reference day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.templating import Jinja2Templates

from caseline.cases import OUTCOMES, RULE_LABELS, LeadRule
from caseline.errors import AccessDenied, InputError
from caseline.oversight import Actor, Permission, authorize, csrf_token
from caseline.standardise import EARLIEST_YEAR, LATEST_YEAR, STOPPING

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def parse_day(value: str) -> dt.date | None:
    """A day as a date input sends it (YYYY-MM-DD), or None when left empty."""
    if not value.strip():
        return None
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{value!r} is not a date (YYYY-MM-DD)", where="as_of") from None
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise InputError(f"{value!r} is outside the years {EARLIEST_YEAR} to {LATEST_YEAR}",
                         where="as_of")  # fmt: skip
    return day


def _as_of(
    as_of: Annotated[
        str, Query(max_length=10, description="The day the rules and guards look at (today)")
    ] = "",
) -> dt.date | None:
    return parse_day(as_of)


# The day the lead rules and the case guards look at, as a page was asked for it (None:
# today); links and forms carry it on only when it was given.
AsOfDep = Annotated[dt.date | None, Depends(_as_of)]


def day(as_of: dt.date | None) -> dt.date:
    return as_of or dt.date.today()


def may(actor: Actor | None, permission: str) -> bool:
    """Whether the actor's role grants the permission (to show a link; routes check again)."""
    if actor is None:
        return False
    try:
        authorize(actor, Permission(permission))
    except AccessDenied:
        return False
    return True


def csrf_for(request: Request) -> str:
    """The anti-forgery token of the session the request's cookie holds ("" if none): the
    sign-out form sends it back, and pages publish it for scripts that call the API."""
    token = request.cookies.get("caseline_session")
    return csrf_token(token) if token else ""


def href(path: str, **params: object) -> str:
    """``path`` with the given query parameters, leaving out the empty ones."""
    given = {k: str(v) for k, v in params.items() if v is not None and v != ""}
    return f"{path}?{urlencode(given)}" if given else path


def rule_label(rule: str) -> str:
    try:
        return RULE_LABELS[LeadRule(rule)]
    except ValueError:
        return rule


def state_label(state: str) -> str:
    return state.replace("_", " ")


def moment(value: dt.datetime | None) -> str:
    """A stored moment, in UTC, to the minute."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")


templates.env.globals.update(
    may=may,
    csrf_for=csrf_for,
    href=href,
    rule_label=rule_label,
    state_label=state_label,
    outcomes=OUTCOMES,
    stopping=frozenset(term.value for term in STOPPING),
)
templates.env.filters["moment"] = moment
