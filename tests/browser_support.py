"""What every browser test checks on every page it opens: axe-core (shipped inside
axe-playwright-python, so no network) finds no WCAG 2.0/2.1 A or AA violation, and nothing
spills sideways out of the window."""

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
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
