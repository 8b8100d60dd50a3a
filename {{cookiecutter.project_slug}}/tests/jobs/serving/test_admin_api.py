"""Personal data through the API: what a served request and its label leave in the files (read
with SQL and as bytes), and DELETE /admin/entities/{id}: never open, counts, then nothing left;
a server that would store PII without a key does not start."""

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.core.config import PredictionLogConfig, ServeConfig
from {{ cookiecutter.package_name }}.core.privacy import KEY_VARIABLE, Privacy, PseudonymKeyError
from {{ cookiecutter.package_name }}.io.bundle import Bundle
from {{ cookiecutter.package_name }}.io.erasure import erasure_log, erasures
from {{ cookiecutter.package_name }}.jobs.serving.app import create_app
from {{ cookiecutter.package_name }}.jobs.serving.auth import Tokens

KEY = b"a test key, not a secret: 32 bytes+"
PRIVACY = Privacy(frozenset({"shop"}), "hash", KEY)  # as if conf/data marked shop pii: true
ADA = "ada@example.com"
TOKENS = Tokens(admin="admin-token", feedback="feedback-token")
ADMIN = {"authorization": "Bearer admin-token"}
Start = Callable[..., TestClient]


@pytest.fixture
def start(tmp_path: Path, bundles: dict[str, Bundle]) -> Iterator[Start]:
    """An app logging to ``tmp_path/log.db`` with ``tokens`` and ``privacy``; all shut down."""
    with ExitStack() as stack:

        def run(tokens: Tokens = TOKENS, privacy: Privacy = PRIVACY) -> TestClient:
            log = PredictionLogConfig(path=str(tmp_path / "log.db"))
            settings = ServeConfig(mode="single", champion="champion", log=log)
            app = create_app(settings, lambda source: bundles[source], tokens, privacy)
            return stack.enter_context(TestClient(app))

        yield run


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


def on_disk(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in folder.iterdir() if path.is_file())


def serve_and_label(app: TestClient, record: dict[str, Any], entity_id: str) -> str:
    answer = app.post("/predict", json={"records": [record], "entity_id": entity_id})
    request_id: str = answer.json()["request_id"]
    label = {"request_id": request_id, "label": "b"}
    assert app.post("/feedback", json=label, headers=ADMIN).status_code == 201
    return request_id


def test_a_served_request_and_its_label_leave_no_raw_personal_data(
    start: Start, record: dict[str, Any], tmp_path: Path
) -> None:
    app = start()
    serve_and_label(app, record, ADA)
    unknown = {"records": [{**record, "email": "bob@example.com"}], "entity_id": "bob"}
    assert app.post("/predict", json=unknown).status_code == 422  # not in the schema: refused
    app.__exit__(None, None, None)
    [(features, entity)] = rows(tmp_path / "log.db", "SELECT features, entity FROM predictions")
    assert json.loads(features)["shop"] == PRIVACY.pseudonym(record["shop"])
    assert entity == PRIVACY.pseudonym(ADA)
    assert rows(tmp_path / "feedback.db", "SELECT entity FROM feedback") == [(entity,)]
    stored = on_disk(tmp_path)
    for raw in (ADA, record["shop"], "bob@example.com"):
        assert raw.encode() not in stored, raw


def test_erasure_needs_the_admin_token_and_returns_what_it_removed(
    start: Start, record: dict[str, Any], tmp_path: Path
) -> None:
    app = start()
    serve_and_label(app, record, ADA)
    serve_and_label(app, record, "grace")
    route = f"/admin/entities/{ADA}"
    assert app.delete(route).status_code == 401
    assert app.delete(route, headers={"authorization": "Bearer feedback-token"}).status_code == 403
    answer = app.delete(route, headers=ADMIN)
    assert answer.status_code == 200
    erased = answer.json()
    assert erased["entity"] == PRIVACY.pseudonym(ADA) and erased["who"] == "api (admin token)"
    assert (erased["prediction_log"], erased["feedback"], erased["review_exports"]) == (1, 1, {})
    assert rows(tmp_path / "log.db", "SELECT COUNT(*) FROM predictions") == [(1,)]  # grace's
    assert rows(tmp_path / "feedback.db", "SELECT COUNT(*) FROM feedback") == [(1,)]
    again = app.delete(route, headers=ADMIN).json()
    assert (again["prediction_log"], again["feedback"]) == (0, 0)
    assert len(erasures(tmp_path / "log.db")) == 2
    assert ADA not in erasure_log(tmp_path / "log.db").read_text()
    slashed = app.delete("/admin/entities/acme/42", headers=ADMIN)  # an id may hold a slash
    assert slashed.json()["entity"] == PRIVACY.pseudonym("acme/42")


def test_erasure_is_never_open_and_needs_the_key(start: Start) -> None:
    no_token = start(Tokens())
    refused = no_token.delete(f"/admin/entities/{ADA}")
    assert refused.status_code == 403 and "SERVE_ADMIN_TOKEN" in refused.text
    no_key = start(TOKENS, Privacy())
    answer = no_key.delete(f"/admin/entities/{ADA}", headers=ADMIN)
    assert answer.status_code == 503 and KEY_VARIABLE in answer.json()["detail"][0]["message"]


def test_a_server_that_would_store_pii_without_a_key_does_not_start(start: Start) -> None:
    with pytest.raises(PseudonymKeyError, match=f"pii: true: shop.*{KEY_VARIABLE} is not set"):
        start(TOKENS, Privacy(frozenset({"shop"}), "hash"))
