"""POST /feedback: a label for a served prediction; 404 unknown request, 422 forbidden label."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.core.config import PredictionLogConfig, ServeConfig
from {{ cookiecutter.package_name }}.io.bundle import Bundle
from {{ cookiecutter.package_name }}.io.feedback_store import FeedbackStore, store_path
from {{ cookiecutter.package_name }}.jobs.serving.app import create_app


@pytest.fixture
def client(tmp_path: Path, bundles: dict[str, Bundle]) -> Iterator[TestClient]:
    log = PredictionLogConfig(path=str(tmp_path / "log.db"))
    settings = ServeConfig(mode="single", champion="champion", log=log)
    with TestClient(create_app(settings, lambda source: bundles[source])) as client:
        yield client


def test_a_label_for_a_served_prediction_is_stored(
    client: TestClient, record: dict[str, Any], tmp_path: Path
) -> None:
    request_id = client.post("/predict", json={"records": [record, record]}).json()["request_id"]
    answer = client.post("/feedback", json={"request_id": request_id, "label": "b", "record": 1})
    assert answer.status_code == 201
    assert answer.json() == {"request_id": request_id, "record": 1, "label": "b"}
    stored = FeedbackStore(store_path(tmp_path / "log.db")).labels()
    assert stored[["request_id", "record", "label", "source"]].values.tolist() == [
        [request_id, 1, "b", "api"]
    ]


def test_unknown_requests_and_forbidden_labels_are_refused(
    client: TestClient, record: dict[str, Any]
) -> None:
    request_id = client.post("/predict", json={"records": [record]}).json()["request_id"]
    unknown = client.post("/feedback", json={"request_id": "never-served", "label": "a"})
    assert unknown.status_code == 404
    beyond = client.post("/feedback", json={"request_id": request_id, "label": "a", "record": 5})
    assert beyond.status_code == 404
    forbidden = client.post("/feedback", json={"request_id": request_id, "label": "zebra"})
    assert forbidden.status_code == 422
    assert forbidden.json()["detail"][0]["rule"] == "target_schema"
