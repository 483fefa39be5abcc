"""New records through the service: `POST /api/records` ingests a batch and places it with a
resolver the process keeps open; where each record goes is what `resolve_incrementally`
decides; data engineers only, audited as an ingest and a placement."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from caseline.config import Settings
from caseline.db import Database
from caseline.db.models import AuditEvent, IngestRun, PersonNameWord
from caseline.ingest import ingest_file
from caseline.oversight import Role, create_user
from caseline.resolve import PlacementService, resolve_incrementally, resolve_persons
from caseline.resolve.name_words import store_name_words
from caseline.server import create_app
from caseline.synth import WorldSummary
from tests.conftest import ADMIN, OPERATOR, PASSWORD, copy_workspace, last_audit_seq

NEWCOMER = (
    'TNEW-9,900-00-0001,"QUARTERMAINE, ZEBULON",02/29/1904,Acme,"1 NOWHERE RD, X, TN 37714",2024\n'
)


def batch_file(world: WorldSummary, folder: Path, name: str = "tax-new.csv") -> Path:
    """Six known taxpayers filing again (new filing ids), one newcomer, one broken row."""
    lines = world.source_files["tax"].read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    again = [
        f"TNEW-{n}," + row.split(",", 1)[1] for n, row in enumerate(rows[:: len(rows) // 6][:6])
    ]
    path = folder / name
    path.write_text(header + "".join(again) + NEWCOMER + "TNEW-BAD,only two\n", encoding="utf-8")
    return path


def _add_data_engineer(database: Database) -> None:
    with database.transaction() as session:
        create_user(session, "dan", Role.DATA_ENGINEER, PASSWORD, actor=ADMIN)


def _bearer(client: TestClient, username: str) -> dict[str, str]:
    signed_in = client.post("/api/sessions", json={"username": username, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    return {"Authorization": f"Bearer {signed_in.json()['token']}"}


def _post(client: TestClient, path: Path, headers: dict[str, str], source: str = "tax") -> Any:
    with path.open("rb") as handle:
        return client.post(
            "/api/records",
            files={"file": (path.name, handle, "text/csv")},
            data={"source": source},
            headers=headers,
        )


def _actions(database: Database, after: int) -> list[tuple[str, str]]:
    with database.transaction() as session:
        return [
            (e.actor, e.action)
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
            )
        ]


@pytest.fixture
def served(
    mutable_resolved: tuple[Settings, Database],
) -> Iterator[tuple[TestClient, Settings, Database]]:
    settings, database = mutable_resolved
    _add_data_engineer(database)
    with TestClient(create_app(settings, database)) as client:
        yield client, settings, database
        service = getattr(client.app.state, "placement_service", None)  # type: ignore[attr-defined]
        if service is not None:
            service.close()


def test_a_batch_is_placed_where_resolve_incrementally_places_it_and_audited(
    served: tuple[TestClient, Settings, Database], small_world: WorldSummary, tmp_path: Path
) -> None:
    client, settings, database = served
    batch = batch_file(small_world, tmp_path)
    # The reference: the same file ingested and placed by the command line's path.
    with copy_workspace(settings, database, tmp_path / "reference") as (ref_settings, ref_db):
        with ref_db.transaction() as session:
            ingest_file(session, batch, "tax", identifier_key=ref_settings.identifier_key,
                        actor=OPERATOR)  # fmt: skip
        expected = resolve_incrementally(
            ref_db, models_dir=ref_settings.models_dir, threshold=settings.match_threshold,
            actor=OPERATOR,
        )  # fmt: skip
    dan = _bearer(client, "dan")
    before = last_audit_seq(database)
    answer = _post(client, batch, dan)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    ingest, placement = body["ingest"], body["placement"]
    assert (ingest["loaded"], ingest["quarantined"], ingest["already_ingested"]) == (7, 1, False)
    assert any(p.startswith("line 9, ") for p in ingest["problems"]), ingest["problems"]
    assert (placement["new_records"], placement["new_persons"]) == (7, 1)
    assert placement["joined_existing"] == expected.joined_existing == 6
    placed = {(p["record_id"], p["person_id"], p["joined_existing"]) for p in placement["placed"]}
    assert placed == set(expected.placed)
    assert placement["candidates"] == expected.candidates > 0
    assert set(body["seconds"]) == {"ingest", "new records", "candidates", "scoring",
                                    "placing and writing"}  # fmt: skip
    assert _actions(database, before)[-2:] == [
        ("dan", "ingest"),
        ("dan", "resolve_incrementally"),
    ]

    again = _post(client, batch, dan)  # the same file: nothing changes, as the CLI says
    assert again.status_code == 200, again.text
    assert again.json()["ingest"]["already_ingested"] is True
    assert again.json()["placement"]["new_records"] == 0

    for bad, source, why in (
        ("tax.txt", "tax", "must end in"),
        ("tax2.csv", "nosuch", "unknown source"),
    ):
        renamed = tmp_path / bad
        renamed.write_bytes(batch.read_bytes())
        refused = _post(client, renamed, dan, source)
        assert refused.status_code == 422 and why in refused.text, refused.text

    before = last_audit_seq(database)
    for username, status in (("ann", 403), ("aud", 403)):
        assert _post(client, batch, _bearer(client, username)).status_code == status
    assert _post(client, batch, {}).status_code == 401
    assert ("dan", "ingest") not in _actions(database, before)


def test_after_a_full_run_the_service_opens_again_and_places(
    served: tuple[TestClient, Settings, Database],
    small_world: WorldSummary,
    small_world_model: Path,
    tmp_path: Path,
) -> None:
    client, settings, database = served
    dan = _bearer(client, "dan")
    assert _post(client, batch_file(small_world, tmp_path), dan).status_code == 200
    resolve_persons(database, models_dir=settings.models_dir, threshold=settings.match_threshold,
                    model_path=small_world_model, actor=OPERATOR)  # fmt: skip
    later = tmp_path / "later"
    later.mkdir()
    path = later / "tax-later.csv"
    path.write_text(batch_file(small_world, later).read_text().replace("TNEW-", "TLATER-"))
    answer = _post(client, path, dan)
    assert answer.status_code == 200, answer.text
    assert answer.json()["placement"]["new_records"] == 7
    assert answer.json()["opened_seconds"] > 0


def test_two_processes_place_in_turn_and_each_sees_what_the_other_placed(
    mutable_resolved: tuple[Settings, Database], small_world: WorldSummary, tmp_path: Path
) -> None:
    settings, database = mutable_resolved
    services = [
        PlacementService(database, models_dir=settings.models_dir,
                         threshold=settings.match_threshold,
                         identifier_key=settings.identifier_key)
        for _ in range(2)
    ]  # fmt: skip
    for service in services:
        service.open()
    first = services[0].ingest_and_place(batch_file(small_world, tmp_path), "tax", actor=OPERATOR)
    newcomer = next(p for r, p, joined in first.placement.placed if not joined)
    second_file = tmp_path / "tax-again.csv"
    second_file.write_text(
        batch_file(small_world, tmp_path).read_text().splitlines(keepends=True)[0]
        + NEWCOMER.replace("TNEW-9", "TNEW-10")
    )
    second = services[1].ingest_and_place(second_file, "tax", actor=OPERATOR)
    for service in services:
        service.close()
    assert [(p, joined) for _r, p, joined in second.placement.placed] == [(newcomer, True)]
    # Search's words were kept up by adding the new records' words: as a rebuild gives them.
    read = select(PersonNameWord.word, PersonNameWord.person_id)
    with database.transaction() as session:
        kept_up = {tuple(row) for row in session.execute(read)}
        store_name_words(session)
        assert {tuple(row) for row in session.execute(read)} == kept_up
    assert any(word == "ZEBULON" and person == newcomer for word, person in kept_up)


def test_no_full_run_yet_is_a_409_and_nothing_is_ingested(
    settings: Settings, database: Database, small_world: WorldSummary, tmp_path: Path
) -> None:
    _add_data_engineer(database)
    with TestClient(create_app(settings, database)) as client:
        refused = _post(client, batch_file(small_world, tmp_path), _bearer(client, "dan"))
    assert refused.status_code == 409, refused.text
    assert "caseline resolve" in refused.json()["detail"]
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(IngestRun)) == 0
