"""Request cost: the server time of a profile read and a case step, one request at a time.

    # the 1,000,000-record workspace benchmarks/page_speed.py builds:
    flock /tmp/caseline-bench.lock env DATABASE_URL=$(scripts/postgres-up) \\
        .venv/bin/python benchmarks/request_cost.py --workspace /tmp/page-speed-1m \\
        --database caseline_page_speed

Issue 23's load test queues on CPU, so what one request costs, alone, is what this measures:
the app runs in this process (no server, no other client), and an analyst of its own
(``cost-01``, added as the demo's admin if missing) works as the load test's analysts do
(``benchmarks/locustfile.py``): it opens a case on a person resolution is sure of and reads
the case (``GET /api/cases/{id}``: the first read of the person, timed as "case read"),
then takes the case's steps (``POST /api/cases/{id}/steps``: begin_review,
confirm_identity, reconfirm_identity), reading the person for the case four times before
each, as the load mix does (``GET /api/persons/{id}?purpose=case:ID``), until ``--reads``
reads and ``--steps`` steps are timed (the first ``--warm-up`` cases are not). Each request
is timed by the app's ``Server-Timing`` header and by this process's CPU time (the
in-process client's share included; other work on the machine does not inflate it); its SQL
statements are counted. ``--profile FILE`` writes cProfile's statistics of what the timed
requests run in the app's worker threads (the times printed are then the profiler's).

Prints, per kind, the median and p90 of the server time, the median CPU time and the
statements per request; the last line is JSON. What it changes in the workspace is what an
analyst would: a user, cases opened and moved on, and the audit events of all of it.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, select

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

ANALYST = "cost-01"
PASSWORD = "caseline request cost analyst"  # noqa: S105 - a local benchmark user
ADMIN, ADMIN_PASSWORD = "admin", "caseline-demo"
STEPS = ("begin_review", "confirm_identity", "reconfirm_identity")
REASON = "request cost: the records checked"


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value at least ``share`` per cent reach."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share / 100 * len(ordered)) - 1)] if ordered else math.nan


class StatementCounter:
    """Counts the SQL statements an engine runs while it is on."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: object, **_kwargs: object) -> None:
        self.count += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--database", help="PostgreSQL: this database on DATABASE_URL's server")
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warm-up", type=int, default=2, help="untimed cases first")
    parser.add_argument("--profile", type=Path, help="write cProfile statistics here")
    args = parser.parse_args()
    os.environ["CASELINE_HOME"] = str(args.workspace)
    if args.database:
        from page_speed import dedicated_url

        os.environ["DATABASE_URL"] = dedicated_url(os.environ["DATABASE_URL"], args.database)
    figures = measure(args.reads, args.steps, args.warm_up, args.profile)
    print(f"{'kind':<10} {'n':>5} {'p50 ms':>7} {'p90 ms':>7} {'CPU ms':>7} {'statements':>10}")
    for kind, f in figures.items():
        print(
            f"{kind:<10} {f['requests']:>5} {f['server_p50_ms']:>7.1f} {f['server_p90_ms']:>7.1f} "
            f"{f['cpu_p50_ms']:>7.1f} {f['statements_median']:>10}"
        )
    print(json.dumps(figures))


def measure(
    reads: int, steps: int, warm_up: int, profile_file: Path | None
) -> dict[str, dict[str, float]]:
    from fastapi.testclient import TestClient

    from caseline.config import load_settings
    from caseline.server import app_from_environment
    from caseline.synth import DEFAULT_REFERENCE_DATE

    settings = load_settings()
    app = app_from_environment()
    database = app.state.database
    persons = _persons(database, settings.identity_threshold)
    counter = StatementCounter()
    event.listen(database.engine, "before_cursor_execute", counter)
    profiler = cProfile.Profile() if profile_file else None
    profiling = [False]
    if profiler is not None:
        _profile_worker_threads(profiler, profiling)
    timings: dict[str, list[tuple[float, float, int]]] = {
        "profile": [],
        "case step": [],
        "case read": [],
    }
    as_of = DEFAULT_REFERENCE_DATE.isoformat()
    with TestClient(app) as client:
        signed = client.post("/api/sessions", json={"username": ANALYST, "password": PASSWORD})
        signed.raise_for_status()
        client.headers["Authorization"] = f"Bearer {signed.json()['token']}"

        @contextmanager
        def timed(kind: str | None) -> Iterator[list[object]]:
            answer: list[object] = []
            counter.count = 0
            profiling[0] = profiler is not None and kind is not None
            cpu = time.process_time()
            yield answer
            cpu_ms = (time.process_time() - cpu) * 1000
            profiling[0] = False
            response = answer[0]
            assert response.status_code == 200, (response.status_code, response.text)  # type: ignore[attr-defined]
            server = float(response.headers["Server-Timing"].removeprefix("app;dur="))  # type: ignore[attr-defined]
            if kind is not None:
                timings[kind].append((server, cpu_ms, counter.count))

        def read(person_id: str, case_id: int, kind: str | None) -> None:
            with timed(kind) as answer:
                answer.append(
                    client.get(
                        f"/api/persons/{person_id}",
                        params={"purpose": f"case:{case_id}", "as_of": as_of},
                    )
                )

        per_step = max(1, math.ceil(reads / max(steps, 1)))
        cases = 0
        for person_id in persons:
            if len(timings["profile"]) >= reads and len(timings["case step"]) >= steps:
                break
            opened = client.post(
                "/api/cases",
                params={"as_of": as_of},
                json={"person_id": person_id, "reason": "request cost: a case on a known person"},
            )
            if opened.status_code != 201:
                continue
            cases += 1
            warm = cases <= warm_up  # the first cases are the warm-up, untimed
            case = opened.json()
            with timed(None if warm else "case read") as answer:
                answer.append(client.get(f"/api/cases/{case['id']}", params={"as_of": as_of}))
            for action in STEPS:
                for _ in range(per_step):  # as the load test's mix: four reads to a step
                    timed_read = not warm and len(timings["profile"]) < reads
                    read(person_id, case["id"], "profile" if timed_read else None)
                timed_step = not warm and len(timings["case step"]) < steps
                with timed("case step" if timed_step else None) as answer:
                    body = {"action": action, "expected_version": case["version"],
                            "fields": {"reason": REASON}}  # fmt: skip
                    answer.append(
                        client.post(
                            f"/api/cases/{case['id']}/steps", params={"as_of": as_of}, json=body
                        )
                    )
                case = answer[0].json()["case"]  # type: ignore[attr-defined]
    if profiler is not None and profile_file is not None:
        profiler.dump_stats(str(profile_file))
    return {
        kind: {
            "requests": len(rows),
            "server_p50_ms": round(statistics.median(ms for ms, _, _ in rows), 1),
            "server_p90_ms": round(percentile([ms for ms, _, _ in rows], 90), 1),
            "cpu_p50_ms": round(statistics.median(cpu for _, cpu, _ in rows), 1),
            "statements_median": round(statistics.median(n for _, _, n in rows)),
        }
        for kind, rows in timings.items()
        if rows
    }


def _profile_worker_threads(profiler: cProfile.Profile, profiling: list[bool]) -> None:
    """Profile what the app runs in its worker threads (the routes, their dependencies and
    the response's validation: all but the async middleware), while ``profiling[0]``."""
    import anyio.to_thread

    run_sync = anyio.to_thread.run_sync

    async def profiled_run_sync(function, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not profiling[0]:
            return await run_sync(function, *args, **kwargs)

        def run(*given):  # type: ignore[no-untyped-def]
            profiler.enable()
            try:
                return function(*given)
            finally:
                profiler.disable()

        return await run_sync(run, *args, **kwargs)

    anyio.to_thread.run_sync = profiled_run_sync  # type: ignore[assignment]


def _persons(database: object, threshold: float) -> list[str]:
    """The cost analyst (added if missing), and persons resolution is sure enough of to
    confirm, with no case open on them, in a fixed order."""
    from caseline.db import Database
    from caseline.db.models import Case, Person, User
    from caseline.oversight import Role, actor_with_password, create_user

    assert isinstance(database, Database)
    with database.transaction() as session:
        if session.scalar(select(User.username).where(User.username == ANALYST)) is None:
            admin = actor_with_password(session, ADMIN, ADMIN_PASSWORD)
            create_user(session, ANALYST, Role.ANALYST, PASSWORD, actor=admin)
    with database.transaction() as session:
        busy = select(Case.person_id)
        found = session.scalars(
            select(Person.person_id)
            .where(Person.assurance >= threshold, Person.person_id.not_in(busy))
            .order_by(Person.person_id)
            .limit(500)
        ).all()
    gc.collect()
    return list(found)


if __name__ == "__main__":
    main()
