"""POST /feedback: a label for a served prediction; the label's schema is the target's, the
request id's pattern is checked before anything echoes it, and a token guards it when set."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.core.config import PredictionLogConfig, ServeConfig
from {{ cookiecutter.package_name }}.io.bundle import Bundle
from {{ cookiecutter.package_name }}.io.feedback_store import FeedbackStore, store_path
from {{ cookiecutter.package_name }}.jobs.serving.app import create_app
from {{ cookiecutter.package_name }}.jobs.serving.auth import Tokens

Client = Callable[..., TestClient]


@pytest.fixture
def start(tmp_path: Path, bundles: dict[str, Bundle]) -> Iterator[Client]:
    """An app serving ``champion`` with ``tokens``; every one is shut down at the end."""
    with ExitStack() as stack:

        def run(champion: str = "champion", tokens: Tokens | None = None) -> TestClient:
            log = PredictionLogConfig(path=str(tmp_path / f"{champion}.db"))
            settings = ServeConfig(mode="single", champion=champion, log=log)
            app = create_app(settings, lambda source: bundles[source], tokens or Tokens())
            return stack.enter_context(TestClient(app))

        yield run


@pytest.fixture
def client(start: Client) -> TestClient:
    return start()


def test_a_label_for_a_served_prediction_is_stored(
    client: TestClient, record: dict[str, Any], tmp_path: Path
) -> None:
    request_id = client.post("/predict", json={"records": [record, record]}).json()["request_id"]
    answer = client.post("/feedback", json={"request_id": request_id, "label": "b", "record": 1})
    assert answer.status_code == 201
    assert answer.json() == {"request_id": request_id, "record": 1, "label": "b"}
    stored = FeedbackStore(store_path(tmp_path / "champion.db")).labels()
    assert stored[["request_id", "record", "label", "source"]].values.tolist() == [
        [request_id, 1, "b", "api"]
    ]


def test_unknown_requests_and_forbidden_labels_are_refused(
    client: TestClient, record: dict[str, Any]
) -> None:
    request_id = client.post("/predict", json={"records": [record]}).json()["request_id"]
    unknown = client.post("/feedback", json={"request_id": "never-served", "label": "a"})
    assert (unknown.status_code, unknown.json()["detail"][0]["rule"]) == (404, "served")
    beyond = client.post("/feedback", json={"request_id": request_id, "label": "a", "record": 5})
    assert beyond.status_code == 404
    forbidden = client.post("/feedback", json={"request_id": request_id, "label": "zebra"})
    problem = forbidden.json()["detail"][0]
    assert forbidden.status_code == 422
    assert (problem["field"], problem["rule"]) == ("label", "categories")


@pytest.mark.parametrize(
    ("body", "status", "rule"),
    [
        ({"request_id": "r-1", "label": "a", "record": 1000}, 422, "max"),
        ({"request_id": "r-1", "label": "a", "record": "0"}, 422, "type"),
        ({"request_id": "r-1", "label": 1}, 422, "categories"),
        ({"request_id": "r-1", "label": "a", "extra": 1}, 422, "unknown_field"),
        ({"label": "a"}, 422, "required"),
    ],
)
def test_the_body_follows_the_documented_schema(
    client: TestClient, body: dict[str, Any], status: int, rule: str
) -> None:
    answer = client.post("/feedback", json=body)
    assert (answer.status_code, answer.json()["detail"][0]["rule"]) == (status, rule)


@pytest.mark.parametrize("request_id", ["日本語", "a b", "x" * 129, "", "a\u00e9"])
def test_a_request_id_outside_the_pattern_is_a_422_never_a_500(
    client: TestClient, request_id: str
) -> None:
    """The id used to be echoed in a header: a non-Latin-1 one crashed the response."""
    answer = client.post("/feedback", json={"request_id": request_id, "label": "a"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "request_id"
    assert answer.headers["x-request-id"] == answer.json()["request_id"] != request_id


def test_unparseable_and_oversized_bodies(client: TestClient) -> None:
    json_type = {"content-type": "application/json"}
    broken = client.post("/feedback", content=b"\xff{", headers=json_type)
    assert (broken.status_code, broken.json()["detail"][0]["rule"]) == (400, "json")
    huge = client.post("/feedback", content=b"[" + b" " * 20_000 + b"]")
    assert (huge.status_code, huge.json()["detail"][0]["rule"]) == (413, "max_body_bytes")


def test_a_regressor_takes_a_number_in_the_target_range(start: Client) -> None:
    client = start("regression")
    record = {"label": "a", "shop": "shop1", "size": 2.0}
    request_id = client.post("/predict", json={"records": [record]}).json()["request_id"]

    def label(value: Any) -> Any:
        return client.post("/feedback", json={"request_id": request_id, "label": value})

    assert [label("b").status_code, label(-1.0).status_code] == [422, 422]  # amount: min 0
    stored = label(4)
    assert (stored.status_code, stored.json()["label"]) == (201, 4.0)
    schema = client.get("/openapi.json").json()["components"]["schemas"]["FeedbackRequest"]
    assert {"type": "number", "minimum": 0.0}.items() <= schema["properties"]["label"].items()


def test_a_token_guards_feedback_when_set(start: Client, record: dict[str, Any]) -> None:
    client = start(tokens=Tokens(admin="admin-secret", feedback="label-secret"))
    request_id = client.post("/predict", json={"records": [record]}).json()["request_id"]
    body = {"request_id": request_id, "label": "a"}

    def send(token: str | None) -> int:
        headers = {b"authorization": f"Bearer {token}".encode()} if token else {}
        return client.post("/feedback", json=body, headers=headers).status_code

    assert [send(None), send("wrong"), send("é-not-ascii")] == [401, 401, 401]
    assert [send("label-secret"), send("admin-secret")] == [201, 201]
    reload = client.post("/admin/reload", headers={"authorization": "Bearer label-secret"})
    assert (reload.status_code, reload.json()["detail"][0]["rule"]) == (403, "forbidden")
    operation = client.get("/openapi.json").json()["paths"]["/feedback"]["post"]
    assert operation["security"] == [{"adminToken": []}, {"feedbackToken": []}]
    assert "401" in operation["responses"]


def test_a_feedback_store_that_cannot_be_written_is_a_503(
    start: Client, record: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "feedback.db").mkdir()  # a folder where the store's file should be
    client = start()
    request_id = client.post("/predict", json={"records": [record]}).json()["request_id"]
    answer = client.post("/feedback", json={"request_id": request_id, "label": "a"})
    assert (answer.status_code, answer.json()["detail"][0]["rule"]) == (503, "store")
    assert "cannot write the feedback store" in answer.json()["detail"][0]["message"]
