"""The data page's form: a data engineer uploads a batch, the server ingests and places it
and the page says what was loaded, where each record went and how long each step took;
other roles see no form and are refused the post; a post from another origin is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from caseline.config import Settings
from caseline.db import Database
from caseline.oversight import Role, create_user
from caseline.server import create_app
from caseline.synth import WorldSummary
from tests.conftest import ADMIN, PASSWORD
from tests.test_api_records import batch_file
from tests.web_support import web_sign_in


@pytest.fixture
def app(mutable_resolved: tuple[Settings, Database]) -> Iterator[object]:
    settings, database = mutable_resolved
    with database.transaction() as session:
        create_user(session, "dan", Role.DATA_ENGINEER, PASSWORD, actor=ADMIN)
    built = create_app(settings, database)
    yield built
    service = getattr(built.state, "placement_service", None)
    if service is not None:
        service.close()


def _upload(client: TestClient, path: Path, source: str = "tax") -> object:
    with path.open("rb") as handle:
        return client.post(
            "/data/records",
            files={"file": (path.name, handle, "text/csv")},
            data={"source": source, "encoding": "utf-8-sig"},
        )


def test_a_data_engineer_adds_a_batch_and_sees_where_it_went(
    app: object, small_world: WorldSummary, tmp_path: Path
) -> None:
    batch = batch_file(small_world, tmp_path)
    with TestClient(app) as client:  # type: ignore[arg-type]
        web_sign_in(client, "dan", PASSWORD)
        page = client.get("/data")
        assert (
            'action="/data/records"' in page.text and 'enctype="multipart/form-data"' in page.text
        )
        answer = _upload(client, batch)
        assert answer.status_code == 200, answer.text  # type: ignore[attr-defined]
        text = answer.text  # type: ignore[attr-defined]
        assert "7 loaded, 1 quarantined" in text
        assert "7 new records placed: 6 joined existing persons, 1 new persons" in text
        assert "line 9, " in text  # the broken row, where and why
        assert 'id="add-records-seconds"' in text and "placing and writing" in text
        assert text.count("<td>existing</td>") == 6 and text.count("<td>new</td>") == 1
        assert "tax-new.csv" in text  # the new ingest run is listed below

        again = _upload(client, batch)
        assert "already ingested, nothing changed" in again.text  # type: ignore[attr-defined]
        wrong = tmp_path / "tax.txt"
        wrong.write_bytes(batch.read_bytes())
        refused = _upload(client, wrong)
        assert refused.status_code == 422  # type: ignore[attr-defined]
        assert 'id="add-records-error"' in refused.text and "must end in" in refused.text  # type: ignore[attr-defined]

        client.headers["Origin"] = "https://elsewhere.example"  # another site's form
        forged = _upload(client, batch)
        assert forged.status_code == 403  # type: ignore[attr-defined]


def test_other_roles_see_no_form_and_are_refused(
    app: object, small_world: WorldSummary, tmp_path: Path
) -> None:
    batch = batch_file(small_world, tmp_path)
    with TestClient(app) as client:  # type: ignore[arg-type]
        web_sign_in(client, "aud", PASSWORD)
        page = client.get("/data")
        assert page.status_code == 200 and 'action="/data/records"' not in page.text
        assert _upload(client, batch).status_code == 403  # type: ignore[attr-defined]
