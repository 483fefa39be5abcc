"""Refusing requests another site may have forged with the signed-in user's cookie.

A request that brings the session cookie (not a bearer token) is refused when the browser
says it came from another site (``Sec-Fetch-Site``); an API request must also send the
session's anti-forgery token in ``X-CSRF-Token`` (pages carry it in a meta tag), since a
page of another site cannot read it, and an Origin it names must be this site's (so a token
that leaked does not serve another origin); and a state change must come from this site's own
origin (``Origin``, else ``Referer``; absent both, refused). The sign-in form is guarded the
same way before any session exists, by a token in a cookie that the form must repeat.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi import Request

from caseline.errors import AccessDenied
from caseline.oversight import csrf_token

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OWN_SITE = frozenset({"same-origin", "none"})  # "none": typed, bookmarked, reloaded


class CrossSiteRefused(AccessDenied):
    """A cookie-carrying request that may have been forged by another page (403)."""


def check_cookie_request(request: Request, session_token: str, *, secure: bool) -> None:
    """Refuse a request authenticated by the session cookie that may be forged."""
    _refuse_other_sites(request)
    if request.url.path.startswith("/api"):
        check_token(request.headers.get(CSRF_HEADER), session_token)
        require_same_origin(request, secure=secure, only_if_sent=True)  # a leaked token too
        return
    if request.method not in SAFE_METHODS:
        require_same_origin(request, secure=secure)


def check_token(presented: str | None, session_token: str) -> None:
    if not presented or not hmac.compare_digest(presented, csrf_token(session_token)):
        raise CrossSiteRefused(
            f"a request with the session cookie needs this session's {CSRF_HEADER} "
            "(or form field); sign in again if the page is old"
        )


def check_double_submit(presented: str | None, expected: str | None) -> None:
    """The sign-in form's token must repeat the one its cookie holds."""
    if not presented or not expected or not hmac.compare_digest(presented, expected):
        raise CrossSiteRefused("the sign-in form has expired: load the sign-in page again")


def require_same_origin(request: Request, *, secure: bool, only_if_sent: bool = False) -> None:
    """Refuse a state change whose Origin (or Referer) is not this site; with
    ``only_if_sent``, one that names neither passes (the sign-in form has its own token)."""
    _refuse_other_sites(request)
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if referer is None and only_if_sent:
            return
        if referer is None:
            raise CrossSiteRefused("a change needs the Origin of this site; none was sent")
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    parsed = urlsplit(origin)
    host = request.headers.get("host", "")
    if origin == "null" or parsed.netloc.lower() != host.lower():
        raise CrossSiteRefused(f"a change from another origin ({origin}) is refused")
    if secure and parsed.scheme != "https":
        raise CrossSiteRefused("changes are accepted over HTTPS only")


def _refuse_other_sites(request: Request) -> None:
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in _OWN_SITE:
        raise CrossSiteRefused(f"a {site} request may not use the session cookie")
