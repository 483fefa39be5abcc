"""How many attack cases the attack suite (tests/test_attacks_*.py, marker ``attack``) holds,
per kind and per database backend, as a table; with ``--run``, the suite is run too and each
cell says how many cases were refused or detected (passed), and how many are known findings
(xfail: the attack succeeded and the test says so) or failed.

    .venv/bin/python benchmarks/attack_counts.py           # count only (pytest --collect-only)
    .venv/bin/python benchmarks/attack_counts.py --run     # run them (set DATABASE_URL for PG)

A case's kind is its module's name (``test_attacks_<kind>.py``); its backend is the first
part of its test id that names one (``sqlite`` or ``postgresql``).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("sqlite", "postgresql")
_CASE = re.compile(r"tests/test_attacks_(?P<kind>\w+)\.py::(?P<test>\w+)(?:\[(?P<ids>[^\]]*)\])?")


def kind_and_backend(node_id: str) -> tuple[str, str] | None:
    """The kind and backend of a test id, or None if it is not an attack case."""
    found = _CASE.search(node_id)
    if found is None:
        return None
    parts = (found.group("ids") or "").split("-")
    backend = next((part for part in parts if part in BACKENDS), "any")
    return found.group("kind"), backend


def collect() -> Counter[tuple[str, str]]:
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "attack", "tests"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if listed.returncode not in (0, 5):
        sys.exit(f"pytest --collect-only failed:\n{listed.stdout}\n{listed.stderr}")
    return Counter(k for line in listed.stdout.splitlines() if (k := kind_and_backend(line)))


def run() -> dict[tuple[str, str], Counter[str]]:
    """Run the attack cases; per (kind, backend), how many ended each way."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "attacks.xml"
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-m", "attack", "-p", "no:cacheprovider",
             f"--junitxml={report}", "tests"],
            cwd=ROOT, check=False,
        )  # fmt: skip
        tree = ET.parse(report)  # noqa: S314 (the report our own pytest just wrote)
    outcomes: dict[tuple[str, str], Counter[str]] = {}
    for case in tree.iter("testcase"):
        path = case.get("classname", "").replace(".", "/")
        found = kind_and_backend(f"{path}.py::{case.get('name', '')}")
        if found is None:
            continue
        outcomes.setdefault(found, Counter())[_outcome(case)] += 1
    return outcomes


def _outcome(case: ET.Element) -> str:
    skipped = case.find("skipped")
    if skipped is not None:
        return "finding (xfail)" if skipped.get("type") == "pytest.xfail" else "skipped"
    if case.find("failure") is not None or case.find("error") is not None:
        return "failed"
    return "refused or detected"


def table(cells: dict[tuple[str, str], str], kinds: list[str], columns: list[str]) -> str:
    lines = ["| kind | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += [f"| {kind} | " + " | ".join(cells.get((kind, c), "0") for c in columns) + " |"
              for kind in kinds]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="store_true", help="run the cases, not only count them")
    args = parser.parse_args()
    counts = collect()
    kinds = sorted({kind for kind, _ in counts})
    columns = [b for b in (*BACKENDS, "any") if any(k[1] == b for k in counts)]
    cells = {key: str(n) for key, n in counts.items()}
    for kind in kinds:
        cells[(kind, "total")] = str(sum(n for (k, _), n in counts.items() if k == kind))
    print(f"Attack cases collected (pytest -m attack): {sum(counts.values())}\n")
    print(table(cells, kinds, [*columns, "total"]))
    if not args.run:
        return
    outcomes = run()
    ran = {key: ", ".join(f"{n} {what}" for what, n in sorted(c.items())) for key, c in
           outcomes.items()}  # fmt: skip
    print("\nOutcomes when run:\n")
    print(table(ran, kinds, columns))
    totals = sum((c for c in outcomes.values()), Counter())
    print("\n" + ", ".join(f"{n} {what}" for what, n in sorted(totals.items())))


if __name__ == "__main__":
    main()
