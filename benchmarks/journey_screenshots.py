"""Pictures of the analyst's UI, one or more per journey of issue 22, for docs/ui.md.

    scripts/journey-screenshots                            # docs/images/journey-*.png
    .venv/bin/python benchmarks/journey_screenshots.py --out /tmp/shots --persons 300

Builds the demo's workspace on SQLite in a temporary CASELINE_HOME, removed at the end
(`caseline demo --no-serve`: a generated world of seed 1, ingested, resolved and evaluated,
a user per role, cases, disputes and a purpose waiting), then loads one small court file
with broken rows so that the data page has quarantined rows and values left out to show.
It serves the workspace on 127.0.0.1 (`caseline serve`) and walks each journey in headless
Chromium (CASELINE_BROWSER, default /usr/bin/chromium), signed in as the role the journey
belongs to, saving PNGs 1280 px wide (the profile also at 390 px), each cut at 1600 px high.

Days are the world's reference day wherever a page takes one, so the pictures differ from
one run to the next only in the times of day they show. The graph page (journey 5) is taken
if `/persons/{id}/graph` answers 200; otherwise the script says so and goes on.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from caseline.cli.demo import DEMO_PASSWORD
from caseline.synth import DEFAULT_REFERENCE_DATE

ROOT = Path(__file__).resolve().parent.parent
WIDE, PHONE, TALLEST = 1280, 390, 1600
AS_OF = DEFAULT_REFERENCE_DATE.isoformat()
SEARCH_PURPOSE = "checking a tip about a name"
# Settings of the caller's own workspace that must not leak into the temporary one.
FOREIGN_SETTINGS = ("DATABASE_URL", "CASELINE_TOKEN", "CASELINE_AUDIT_KEY_FILE",
                    "CASELINE_AUDIT_CHECKPOINT_FILE")  # fmt: skip


@dataclass(frozen=True)
class Chosen:
    """The case whose person the analyst's pictures show, and two of that person's records."""

    case_id: int
    person_id: str
    name: str
    left_record: str
    right_record: str

    @property
    def profile(self) -> str:
        return f"/persons/{self.person_id}?purpose=case:{self.case_id}&as_of={AS_OF}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--persons", type=int, default=500, help="persons in the demo's world")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    # One fixed folder, not a random one: the record drawer shows the path of its file.
    folder = Path(tempfile.gettempdir()) / "caseline-journey-screenshots"
    shutil.rmtree(folder, ignore_errors=True)
    try:
        home = folder / "home"
        env = {k: v for k, v in os.environ.items() if k not in FOREIGN_SETTINGS}
        env["CASELINE_HOME"] = str(home)
        started = time.monotonic()
        _caseline(env, "demo", "--no-serve", "--persons", str(args.persons),
                  "--seed", str(args.seed))  # fmt: skip
        _load_broken_file(env, home)
        print(f"workspace ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
        with _serving(env) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("CASELINE_BROWSER", "/usr/bin/chromium")
            )
            try:
                _walk(browser, base, args.out)
            finally:
                browser.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for path in sorted(args.out.glob("journey-*.png")):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def _walk(browser: Browser, base: str, out: Path) -> None:
    analyst = _signed_in(browser, base, "analyst")
    chosen = _choose_case(analyst, base)
    _find(analyst, base, chosen, out)
    _profile(analyst, base, chosen, out)
    _profile_on_a_phone(browser, base, chosen, out)
    _why_linked(analyst, base, chosen, out)
    _review(analyst, base, out)
    _graph(analyst, base, chosen, out)
    _cases(analyst, base, out)
    auditor = _signed_in(browser, base, "auditor")
    _oversight(auditor, base, out)
    engineer = _signed_in(browser, base, "engineer")
    _data(engineer, base, out)


# --- the journeys -------------------------------------------------------------------------


def _find(page: Page, base: str, chosen: Chosen, out: Path) -> None:
    """Journey 1: the person's name typed with a slip in the family name, family name first."""
    given, *_, family = chosen.name.split()
    typed = f"{_slip(family)} {given}".title()
    page.goto(base + "/")
    page.get_by_label("Name").fill(typed)
    page.get_by_label("Purpose").fill(SEARCH_PURPOSE)
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.results tbody tr")
    expect(rows.first).to_be_visible()
    top = rows.locator(f"a[href^='/persons/{chosen.person_id}?']")
    if top.count() == 0:
        print(f"journey 1: {typed!r} did not find {chosen.person_id}", file=sys.stderr)
    _shoot(page, out / "journey-1-search.png")


def _profile(page: Page, base: str, chosen: Chosen, out: Path) -> None:
    """Journey 2: the profile read for the case, and one record's drawer opened."""
    page.goto(base + chosen.profile)
    expect(page.locator("#person-name")).to_be_visible()
    _shoot(page, out / "journey-2-profile.png")
    drawer = page.locator("details.record-drawer").first
    drawer.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(drawer).to_have_attribute("open", "")
    _shoot(page, out / "journey-2-record-drawer.png", start=drawer.locator("xpath=ancestor::tr"))


def _profile_on_a_phone(browser: Browser, base: str, chosen: Chosen, out: Path) -> None:
    page = _signed_in(browser, base, "analyst", width=PHONE)
    page.goto(base + chosen.profile)
    expect(page.locator("#person-name")).to_be_visible()
    _shoot(page, out / "journey-2-profile-390.png")
    page.context.close()


def _why_linked(page: Page, base: str, chosen: Chosen, out: Path) -> None:
    """Journey 3: two of the person's records, read for the case: the waterfall."""
    page.goto(
        f"{base}/pairs/explain?left={chosen.left_record}&right={chosen.right_record}"
        f"&purpose=case:{chosen.case_id}&as_of={AS_OF}"
    )
    expect(page.locator("#waterfall svg")).to_be_visible()
    _shoot(page, out / "journey-3-why-linked.png")


def _review(page: Page, base: str, out: Path) -> None:
    """Journey 4: two pairs decided from the keyboard (unsure, with a reason), so the queue
    shows decisions with who and when, then the next undecided pair."""
    for _ in range(2):
        page.goto(base + "/review")
        page.locator("#review-pane").focus()
        page.keyboard.press("u")
        expect(page.locator("#reason")).to_be_focused()
        page.keyboard.type("cannot tell from these two records alone")
        page.keyboard.press("Enter")
        page.wait_for_url("**/review?decided=*")
    page.goto(base + "/review")
    expect(page.locator("#review-pane")).to_be_visible()
    _shoot(page, out / "journey-4-review.png")
    _shoot(page, out / "journey-4-review-decided.png", start=page.locator("#decided-title"))


def _graph(page: Page, base: str, chosen: Chosen, out: Path) -> None:
    """Journey 5, if the page is there: the person's records and their neighbours."""
    answer = page.goto(
        f"{base}/persons/{chosen.person_id}/graph?purpose=case:{chosen.case_id}&as_of={AS_OF}"
    )
    if answer is None or answer.status != 200:
        print("journey 5: page not there yet", file=sys.stderr)
        return
    expect(page.locator("#graph-canvas[data-drawn]")).to_have_count(1)  # the script drew it
    _shoot(page, out / "journey-5-graph.png")


def _cases(page: Page, base: str, out: Path) -> None:
    """Journey 6: the board, and the case furthest along (the longest history): its top, with
    the next steps and their guards, and its history."""
    page.goto(base + "/cases")
    _shoot(page, out / "journey-6-case-board.png")
    ids = _case_ids(page)
    furthest, steps = ids[0], -1
    for case_id in ids:
        page.goto(f"{base}/cases/{case_id}?as_of={AS_OF}")
        taken = page.locator("#history li.history-step").count()
        if taken > steps:
            furthest, steps = case_id, taken
    page.goto(f"{base}/cases/{furthest}?as_of={AS_OF}")
    _shoot(page, out / "journey-6-case.png")
    _shoot(page, out / "journey-6-case-history.png", start=page.locator("#history"))


def _oversight(page: Page, base: str, out: Path) -> None:
    """Journey 7: the auditor's trail, filtered to the reads of persons, and one report drawn
    as bars."""
    page.goto(base + "/audit?what=read_person")
    expect(page.get_by_role("heading", name="Audit trail", level=1)).to_be_visible()
    _shoot(page, out / "journey-7-audit.png")
    page.goto(base + "/reports/accuracy-by-group")
    _shoot(page, out / "journey-7-reports.png")


def _data(page: Page, base: str, out: Path) -> None:
    """Journey 8: ingest runs, what was left out, and resolution runs with their figures."""
    page.goto(base + "/data")
    _shoot(page, out / "journey-8-data.png")


# --- choosing what to show ------------------------------------------------------------------


def _choose_case(page: Page, base: str) -> Chosen:
    """The demo case whose person has the most records (ties: the most addresses), so the
    profile and the waterfall have the most to show."""
    page.goto(base + "/cases")
    ids = _case_ids(page)
    best: tuple[tuple[int, int], Chosen] | None = None
    for case_id in ids:
        page.goto(f"{base}/cases/{case_id}?as_of={AS_OF}")
        person_id = page.locator("dt:text-is('Person') + dd code").first.inner_text().strip()
        page.goto(f"{base}/persons/{person_id}?purpose=case:{case_id}&as_of={AS_OF}")
        records = page.locator("details.record-drawer").evaluate_all(
            "ds => ds.map(d => [d.dataset.recordId, d.closest('table').dataset.source])"
        )
        if len(records) < 2:
            continue
        addresses = page.locator("#addresses tbody tr").count()
        first_of_each: dict[str, str] = {}
        for record, source in records:
            first_of_each.setdefault(source, record)
        left, right = list(first_of_each.values())[:2] if len(first_of_each) > 1 else (
            records[0][0], records[1][0])  # fmt: skip
        name = page.locator("#person-name").inner_text().strip()
        found = Chosen(case_id, person_id, name, left, right)
        score = (len(records), addresses)
        if best is None or score > best[0]:
            best = (score, found)
    if best is None:
        raise SystemExit("no demo case's person has two records: no waterfall to show")
    return best[1]


def _case_ids(page: Page) -> list[int]:
    """The ids of the cases the page links to, smallest first."""
    paths = [(a.get_attribute("href") or "").split("?")[0].split("/")
             for a in page.locator("main a[href^='/cases/']").all()]  # fmt: skip
    ids = sorted({int(p[2]) for p in paths if len(p) == 3 and p[2].isdigit()})
    if not ids:
        raise SystemExit(f"{page.url} links to no case: the demo opened none to show")
    return ids


def _slip(word: str) -> str:
    """The word with one letter typed wrong, as a hurried analyst would ("Cardenaz")."""
    at = len(word) - 1 if word[-1] in "SZ" else len(word) // 2
    swap = {"S": "Z", "Z": "S", "A": "E", "E": "A", "I": "Y", "Y": "I", "O": "U", "U": "O"}
    return word[:at] + swap.get(word[at], "E" if word[at] != "E" else "A") + word[at + 1 :]


# --- the workspace, the server, the browser ----------------------------------------------


def _caseline(env: dict[str, str], *arguments: str, stdin: str | None = None) -> str:
    """Run a caseline command in the temporary workspace; its output, or exit saying why."""
    done = subprocess.run(
        [sys.executable, "-m", "caseline.cli", *arguments],
        env=env, input=stdin, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode not in (0, 1):  # 1: finished, but something needs attention
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"`caseline {' '.join(arguments)}` failed ({done.returncode})")
    return done.stdout


def _load_broken_file(env: dict[str, str], home: Path) -> None:
    """A late court file of a few hearings, three of them broken: one with no hearing id and
    one with a line cut short (quarantined), one with a date that is no date (left out)."""
    world = home / "world"
    with (world / "court.csv").open(newline="") as handle:
        reader = csv.reader(handle)
        header, rows = next(reader), [row for _, row in zip(range(6), reader, strict=False)]
    for number, row in enumerate(rows):
        row[header.index("hearing_id")] = f"HLATE{number:04d}"
    rows[1][header.index("hearing_id")] = ""
    rows[2] = rows[2][:4]
    rows[3][header.index("hearing_date")] = "2019-13-45"
    late = home / "late" / "court.csv"
    late.parent.mkdir()
    with late.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    token = _caseline(env, "login", "engineer", "--password-stdin", "--print-token",
                      stdin=DEMO_PASSWORD + "\n").strip().split()[-1]  # fmt: skip
    _caseline({**env, "CASELINE_TOKEN": token}, "ingest", "--source", "court", str(late))


@contextmanager
def _serving(env: dict[str, str]) -> Iterator[str]:
    """`caseline serve` on a free port of 127.0.0.1 until the block ends; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = subprocess.Popen(
        [sys.executable, "-m", "caseline.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("`caseline serve` did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=20)


def _signed_in(browser: Browser, base: str, username: str, width: int = WIDE) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(base + "/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


def _shoot(page: Page, path: Path, start: Locator | None = None) -> None:
    """The page as a picture the window's width wide and at most TALLEST high: from the top,
    or from a little above ``start``. Fails on an error page, so no picture shows one."""
    refused = page.locator(".error-page, [role=alert]")
    if refused.count():
        raise SystemExit(f"{page.url} shows an error, not a picture: {refused.first.inner_text()}")
    page.mouse.move(0, 0)  # no hover state in the picture
    width, height = page.evaluate(
        "() => [window.innerWidth, document.scrollingElement.scrollHeight]"
    )
    top = 0
    if start is not None:
        where = "e => e.getBoundingClientRect().top + window.scrollY"
        top = max(0, int(start.evaluate(where)) - 24)
    tall = min(TALLEST, int(height) - top)
    shot = page.screenshot(full_page=True, clip={"x": 0, "y": top, "width": width, "height": tall})
    # A page is a few flat colours: 256 of them, undithered, keep the text as sharp at a
    # third of the size.
    with Image.open(io.BytesIO(shot)) as picture:
        flat = picture.convert("RGB").quantize(
            256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
        flat.save(path, optimize=True)


if __name__ == "__main__":
    main()
