"""What every browser test shares: a server of its own on 127.0.0.1, a page signed in as a
user, and the checks on every page it opens: axe-core (shipped inside axe-playwright-python,
so no network) finds no WCAG 2.0/2.1 A or AA violation, and nothing spills sideways out of
the window."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from caseline.config import Settings
from caseline.db import Database
from caseline.server import create_app
from tests.conftest import PASSWORD

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@contextmanager
def serve(settings: Settings, database: Database) -> Iterator[str]:
    """The app served on a free port of 127.0.0.1 until the block ends; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, database), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def signed_in_page(browser: Browser, base: str, username: str) -> Page:
    """A page in a browser context of its own (its own cookies), signed in as ``username``."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(base + "/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


_AXE = Axe()


def accessibility_violations(page: Page) -> list[str]:
    """Each violation axe finds on the page as it is now: rule, impact, where, and why."""
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    found: list[dict[str, Any]] = _AXE.run(page, options=options).response["violations"]
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + "; ".join(" ".join(map(str, node["target"])) for node in violation["nodes"])
        for violation in found
    ]


def assert_accessible(page: Page) -> None:
    """Fail with a readable list of what axe-core finds on the page (none is allowed)."""
    violations = accessibility_violations(page)
    assert not violations, f"axe-core on {page.url}:\n  " + "\n  ".join(violations)


def horizontal_overflow(page: Page) -> str | None:
    """None if the page fits its window (one pixel of rounding allowed); else by how much it
    is wider, and the outermost elements that stick out (to know what to fix)."""
    spill = int(page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth"))
    if spill <= 1:
        return None
    culprits = page.evaluate(_STICKING_OUT)
    return f"{spill} px wider than the window; sticking out: {', '.join(culprits) or '?'}"


# The elements whose right edge passes the window's while their parent's does not.
_STICKING_OUT = """() => {
  const out = el => el.getBoundingClientRect().right > window.innerWidth + 1;
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.classList.length ? '.' + [...el.classList].join('.') : '');
  return [...document.body.querySelectorAll('*')]
    .filter(el => out(el) && !(el.parentElement !== document.body && out(el.parentElement)))
    .slice(0, 8)
    .map(el => (el.parentElement ? name(el.parentElement) + ' > ' : '') + name(el));
}"""
