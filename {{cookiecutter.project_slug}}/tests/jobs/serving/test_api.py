"""The real app on real (small) models, through FastAPI's TestClient."""

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.core.config import CanaryConfig, PredictionLogConfig, ServeConfig
from {{ cookiecutter.package_name }}.core.health import service_health
from {{ cookiecutter.package_name }}.io.bundle import Bundle
from {{ cookiecutter.package_name }}.io.prediction_log import read_requests, read_window
from {{ cookiecutter.package_name }}.jobs.serving.app import create_app

Client = Callable[..., TestClient]


@pytest.fixture
def client(tmp_path: Path, bundles: dict[str, Bundle]) -> Iterator[Client]:
    """Start an app (lifespan included) with settings; every one is shut down at the end."""
    with ExitStack() as stack:

        def start(
            mode: str = "single",
            challenger: str | None = None,
            champion: str = "champion",
            **changes: Any,
        ) -> TestClient:
            settings = ServeConfig(
                mode=mode,  # type: ignore[arg-type]
                champion=champion,
                challenger=challenger,
                log=PredictionLogConfig(path=str(tmp_path / f"{mode}.db")),
                **changes,
            )
            app = create_app(settings, lambda source: bundles[source])
            return stack.enter_context(TestClient(app, raise_server_exceptions=False))

        yield start


def post(client: TestClient, *records: dict[str, Any], **extra: Any) -> Any:
    return client.post("/predict", json={"records": list(records), **extra})


def test_one_record_gets_prediction_probabilities_model_and_arm(
    client: Client, record: dict[str, Any]
) -> None:
    response = post(client(), record)
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == {"name": "toy", "version": "1"}
    assert body["arm"] == "champion"
    assert body["request_id"] == response.headers["x-request-id"]
    [prediction] = body["predictions"]
    assert prediction["prediction"] in {"a", "b"}
    assert set(prediction["probabilities"]) == {"a", "b"}
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0)


def test_many_records_and_a_given_request_id(client: Client, record: dict[str, Any]) -> None:
    records = [record, {**record, "size": None}, {"shop": "shop0", "amount": 7.5}]
    response = client().post("/predict", json={"records": records}, headers={"x-request-id": "r1"})
    assert response.status_code == 200
    assert response.json()["request_id"] == "r1"
    assert len(response.json()["predictions"]) == 3


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"colour": "red"}, "records[0].colour", "unknown_field"),
        ({"amount": "3.5"}, "records[0].amount", "type"),
        ({"amount": True}, "records[0].amount", "type"),
        ({"shop": 3}, "records[0].shop", "categories"),
        ({"shop": "shop99"}, "records[0].shop", "categories"),
        ({"size": 10.5}, "records[0].size", "max"),
        ({"amount": -1.0}, "records[0].amount", "min"),
        ({"amount": None}, "records[0].amount", "required"),
        ({"amount": float("inf")}, "records[0].amount", "finite"),
        ({"size": float("nan")}, "records[0].size", "finite"),
    ],
)
def test_bad_input_is_422_naming_field_and_rule(
    client: Client, record: dict[str, Any], change: dict[str, Any], field: str, rule: str
) -> None:
    body = json.dumps({"records": [{**record, **change}]})  # allows NaN/Infinity, as clients do
    response = client().post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert {"field": field, "rule": rule} in [
        {"field": d["field"], "rule": d["rule"]} for d in response.json()["detail"]
    ]


def test_missing_required_field_unknown_top_level_key_and_broken_json(
    client: Client, record: dict[str, Any]
) -> None:
    app = client()
    missing = post(app, {"shop": "shop1"}).json()["detail"]
    assert {"field": "records[0].amount", "rule": "required"} in [
        {k: d[k] for k in ("field", "rule")} for d in missing
    ]
    assert post(app, record, extra=1).json()["detail"][0]["rule"] == "unknown_field"
    assert post(app).json()["detail"][0]["rule"] == "min_records"
    broken = app.post("/predict", content=b"{", headers={"content-type": "application/json"})
    assert (broken.status_code, broken.json()["detail"][0]["rule"]) == (400, "json")


def test_too_many_records_and_too_large_body_are_413(
    client: Client, record: dict[str, Any]
) -> None:
    app = client(max_records=5, max_body_bytes=2048)
    too_many = post(app, *[record] * 6)
    assert too_many.status_code == 413
    assert too_many.json()["detail"][0]["rule"] == "max_records"
    too_large = post(app, {**record, "shop": "x" * 3000})
    assert too_large.status_code == 413
    assert too_large.json()["detail"][0]["rule"] == "max_body_bytes"


def test_health_ready_model_metrics_and_docs(client: Client, record: dict[str, Any]) -> None:
    app = client()
    post(app, record)
    post(app, {**record, "shop": "nope"})
    assert app.get("/health").json() == {"status": "ok", "problems": []}
    assert app.get("/ready").status_code == 200
    model = app.get("/model").json()
    assert model["champion"]["version"] == "1" and model["champion"]["lineage"]
    assert model["fast_path"] is True
    metrics = app.get("/metrics").text
    assert (
        'api_requests_total{arm="champion",endpoint="/predict",model_version="1",status="200"}'
        in metrics
    )
    assert 'api_validation_errors_total{field="shop",rule="categories"} 1.0' in metrics
    assert (
        "api_predicted_class_total" in metrics and "api_request_duration_seconds_bucket" in metrics
    )
    schema = app.get("/openapi.json").json()["components"]["schemas"]["Record"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["shop"]["enum"][0] == "shop0"
    assert app.get("/docs").status_code == 200


def test_shadow_never_changes_answers_and_logs_both_arms(
    client: Client, tmp_path: Path, record: dict[str, Any]
) -> None:
    records = [{**record, "amount": float(amount)} for amount in range(8)]
    single, shadow = client(), client("shadow", "challenger")
    for index, item in enumerate(records):
        headers = {"x-request-id": f"r{index}"}
        alone = single.post("/predict", json={"records": [item]}, headers=headers).json()
        shadowed = shadow.post("/predict", json={"records": [item]}, headers=headers).json()
        assert shadowed == alone
    shadow.__exit__(None, None, None)  # a clean shutdown drains the shadow queue and the log
    logged = read_window(tmp_path / "shadow.db")
    assert sorted(logged["arm"].value_counts().items()) == [("champion", 8), ("shadow", 8)]
    assert set(logged.loc[logged["arm"] == "shadow", "model_version"]) == {"2"}


def test_a_failing_shadow_never_reaches_the_caller(client: Client, record: dict[str, Any]) -> None:
    app = client("shadow", "broken")
    for _ in range(3):
        response = post(app, record)
        assert response.status_code == 200
        assert response.json()["arm"] == "champion"


def test_a_busy_shadow_never_delays_the_caller(
    client: Client, record: dict[str, Any], hold: Any
) -> None:
    """The caller is answered while the shadow model is still held inside its prediction."""
    app = client("shadow", "held")  # start-up may call the model: the hold is still open
    hold.close()
    for _ in range(3):
        response = post(app, record)
        assert response.status_code == 200
        assert response.json()["arm"] == "champion"
        assert not hold.finished.is_set()
    assert hold.started.wait(timeout=30)  # the shadow did run, and is still held
    hold.release.set()


def test_canary_routes_its_share_sticky_per_entity(client: Client, record: dict[str, Any]) -> None:
    lenient = CanaryConfig(percent=30.0, max_p95_latency_increase=1000.0)
    app = client("canary", "challenger", canary=lenient)
    arms = [post(app, record, entity_id=f"user{i}").json()["arm"] for i in range(150)]
    assert 0.18 < arms.count("challenger") / len(arms) < 0.42  # exact shares: test_router.py
    again = [post(app, record, entity_id=f"user{i}").json()["arm"] for i in range(30)]
    assert again == arms[:30]
    assert 'api_requests_total{arm="challenger"' in app.get("/metrics").text


def test_a_failing_canary_is_rolled_back_without_failing_a_request(
    client: Client, record: dict[str, Any]
) -> None:
    canary = CanaryConfig(percent=50.0, window=20, min_requests=10)
    app = client("canary", "broken", canary=canary)
    statuses = [post(app, record, entity_id=f"id{i}").status_code for i in range(60)]
    assert set(statuses) == {200}
    state = app.get("/model").json()["canary"]
    assert state["percent"] == 0.0 and "error rate" in state["rollback"]
    metrics = app.get("/metrics").text
    assert "api_canary_rollbacks_total 1.0" in metrics
    assert "api_canary_percent 0.0" in metrics
    later = [post(app, record, entity_id=f"id{i}").json()["arm"] for i in range(10)]
    assert set(later) == {"champion"}


def test_reload_switches_versions_with_no_failed_request(
    tmp_path: Path, bundles: dict[str, Bundle], record: dict[str, Any]
) -> None:
    sources = {"live": bundles["champion"]}
    settings = ServeConfig(
        mode="single", champion="live", log=PredictionLogConfig(path=str(tmp_path / "log.db"))
    )
    with TestClient(create_app(settings, lambda source: sources[source])) as app:
        seen: list[tuple[int, str]] = []
        stop = threading.Event()

        def traffic() -> None:
            while not stop.is_set():
                response = post(app, record)
                seen.append((response.status_code, response.json()["model"]["version"]))

        worker = threading.Thread(target=traffic)
        worker.start()
        sources["live"] = bundles["challenger"]
        reloaded = app.post("/admin/reload").json()
        after = post(app, record).json()["model"]["version"]
        stop.set()
        worker.join()
    assert reloaded == {
        "before": {"champion": "1", "challenger": None},
        "after": {"champion": "2", "challenger": None},
    }
    assert after == "2"
    assert {status for status, _ in seen} == {200}


def test_reload_updates_the_request_schema_in_openapi(
    tmp_path: Path, bundles: dict[str, Bundle]
) -> None:
    sources = {"live": bundles["champion"]}
    settings = ServeConfig(
        mode="single", champion="live", log=PredictionLogConfig(path=str(tmp_path / "log.db"))
    )
    with TestClient(create_app(settings, lambda source: sources[source])) as app:

        def fields() -> set[str]:
            schemas = app.get("/openapi.json").json()["components"]["schemas"]
            return set(schemas["Record"]["properties"])

        assert fields() == {"shop", "size", "amount"}
        sources["live"] = bundles["regression"]  # a model with other inputs
        assert app.post("/admin/reload").status_code == 200
        assert fields() == {"label", "shop", "size"}


def test_reload_needs_the_admin_token_when_one_is_set(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVE_ADMIN_TOKEN", "s3cret")
    app = client()
    assert app.post("/admin/reload").status_code == 401
    ok = app.post("/admin/reload", headers={"authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_every_served_prediction_is_logged(
    client: Client, tmp_path: Path, record: dict[str, Any]
) -> None:
    app = client()
    for index in range(20):
        post(app, record, {**record, "amount": float(index % 8)})
    app.__exit__(None, None, None)
    logged = read_window(tmp_path / "single.db")
    assert len(logged) == 40
    assert {
        "shop",
        "size",
        "amount",
        "prediction",
        "proba_a",
        "proba_b",
        "request_id",
        "timestamp",
        "model_version",
        "arm",
        "latency_ms",
    } <= set(logged.columns)


def test_failures_are_logged_per_arm_so_health_has_error_rates(
    client: Client, tmp_path: Path, record: dict[str, Any]
) -> None:
    never_rolled_back = CanaryConfig(percent=50.0, window=1000, min_requests=1000)
    app = client("canary", "broken", canary=never_rolled_back)
    answered = [post(app, record, entity_id=f"id{i}").status_code for i in range(40)]
    refused = [post(app, {**record, "shop": "nowhere"}).status_code for _ in range(3)]
    app.__exit__(None, None, None)
    health = {h["arm"]: h for h in service_health(read_requests(tmp_path / "canary.db"))}
    assert set(answered) == {200} and refused == [422] * 3
    champion, challenger, unrouted = health["champion"], health["challenger"], health["unrouted"]
    assert (champion["requests"], champion["error_rate"], champion["rejected_rate"]) == (40, 0, 0)
    assert 5 < challenger["requests"] < 35  # its share of the 40, each answered by the champion
    assert (challenger["model_version"], challenger["error_rate"]) == ("3", 1.0)
    assert challenger["latency_ms_p50"] is None  # it answered nothing
    assert (unrouted["requests"], unrouted["rejected_rate"], unrouted["error_rate"]) == (3, 1, 0)


def test_a_failing_champion_is_a_logged_500_naming_the_request(
    client: Client, tmp_path: Path, record: dict[str, Any]
) -> None:
    app = client(champion="broken")
    response = app.post("/predict", json={"records": [record]}, headers={"x-request-id": "r1"})
    assert response.status_code == 500
    assert response.json()["request_id"] == "r1"
    assert response.json()["detail"][0]["rule"] == "model_error"
    assert "Traceback" not in response.text and "challenger is broken" not in response.text
    assert 'status="500"' in app.get("/metrics").text
    app.__exit__(None, None, None)
    [health] = service_health(read_requests(tmp_path / "single.db"))
    assert (health["arm"], health["requests"], health["error_rate"]) == ("champion", 1, 1.0)


def test_a_regressor_answers_without_probabilities(
    tmp_path: Path, bundles: dict[str, Bundle], record: dict[str, Any]
) -> None:
    settings = ServeConfig(
        mode="single", champion="regression", log=PredictionLogConfig(path=str(tmp_path / "log.db"))
    )
    with TestClient(create_app(settings, lambda source: bundles[source])) as app:
        record = {"label": "a", "shop": "shop1", "size": 2.0}
        [prediction] = post(app, record).json()["predictions"]
        assert set(prediction) == {"prediction"} and isinstance(prediction["prediction"], float)
        assert "api_predicted_value_bucket" in app.get("/metrics").text


def explained_total(explanation: dict[str, Any]) -> float:
    """What an explanation adds up to: base value + listed contributions + the rest."""
    shares = sum(item["contribution"] for item in explanation["contributions"])
    return float(explanation["base_value"] + shares + explanation["other"])


def test_explanations_only_when_asked_and_adding_up_to_the_answer(
    client: Client, record: dict[str, Any]
) -> None:
    app = client()
    records = [record, {**record, "size": None}, {"shop": "shop0", "amount": 7.5}]
    plain = post(app, *records).json()["predictions"]
    assert all("explanation" not in prediction for prediction in plain)

    response = post(app, *records, explain=True)
    assert response.status_code == 200
    for prediction, before in zip(response.json()["predictions"], plain, strict=True):
        explanation = prediction.pop("explanation")
        assert prediction == before  # explaining never changes the answer
        answered = prediction["probabilities"][prediction["prediction"]]
        assert explanation["output"] == f"proba_{prediction['prediction']}"
        assert explanation["value"] == pytest.approx(answered, abs=1e-9)
        assert explained_total(explanation) == pytest.approx(answered, abs=1e-9)
        columns = [item["column"] for item in explanation["contributions"]]
        assert sorted(columns) == ["amount", "shop", "size"]  # original columns, not one-hot
        sizes = [abs(item["contribution"]) for item in explanation["contributions"]]
        assert sizes == sorted(sizes, reverse=True)


def test_explain_top_keeps_the_largest_and_sums_the_rest(
    client: Client, record: dict[str, Any]
) -> None:
    app = client()
    [every] = post(app, record, explain=True).json()["predictions"]
    [top] = post(app, record, explain=True, explain_top=1).json()["predictions"]
    assert top["explanation"]["contributions"] == every["explanation"]["contributions"][:1]
    rest = sum(item["contribution"] for item in every["explanation"]["contributions"][1:])
    assert top["explanation"]["other"] == pytest.approx(rest, abs=1e-12)
    assert explained_total(top["explanation"]) == pytest.approx(top["explanation"]["value"])


def test_a_regressor_explains_its_prediction(client: Client) -> None:
    record = {"label": "b", "shop": "shop1", "size": 2.0}
    [prediction] = post(client(champion="regression"), record, explain=True).json()["predictions"]
    explanation = prediction["explanation"]
    assert explanation["output"] == "prediction"
    assert explained_total(explanation) == pytest.approx(prediction["prediction"], abs=1e-9)
    assert {item["column"] for item in explanation["contributions"]} == {"label", "shop", "size"}


@pytest.mark.parametrize(
    ("extra", "field", "rule"),
    [
        ({"explain": "yes"}, "explain", "type"),
        ({"explain": 1}, "explain", "type"),
        ({"explain": True, "explain_top": 0}, "explain_top", "min"),
        ({"explain": True, "explain_top": "2"}, "explain_top", "type"),
    ],
)
def test_a_bad_explain_option_is_422_naming_it(
    client: Client, record: dict[str, Any], extra: dict[str, Any], field: str, rule: str
) -> None:
    response = post(client(), record, **extra)
    assert response.status_code == 422
    assert [(item["field"], item["rule"]) for item in response.json()["detail"]] == [(field, rule)]


def test_a_model_without_background_rows_refuses_to_explain_by_name(
    client: Client, record: dict[str, Any]
) -> None:
    app = client(champion="unexplained")
    assert post(app, record).status_code == 200
    response = post(app, record, explain=True)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["field"], problem["rule"]) == ("explain", "explainable")
    assert "no reference rows" in problem["message"]


# Schema-driven fuzzing: values drawn from the OpenAPI types, plus hostile ones (NaN and
# infinity cannot be sent as JSON by this client; they have their own tests above).
ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers()),
)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Valid values of one OpenAPI property (enum, number with bounds, string, nullable)."""
    options = schema.get("anyOf", [schema])
    strategies = []
    for option in options:
        if "enum" in option:
            strategies.append(st.sampled_from(option["enum"]))
        elif option.get("type") == "number":
            low, high = option.get("minimum"), option.get("maximum")
            strategies.append(st.floats(low, high, allow_nan=False, allow_infinity=False))
        elif option.get("type") == "string":
            strategies.append(st.text(max_size=20))
        elif option.get("type") == "null":
            strategies.append(st.none())
    return st.one_of(*strategies)


@pytest.fixture(scope="module")
def fuzz_app(
    tmp_path_factory: pytest.TempPathFactory, bundles: dict[str, Bundle]
) -> Iterator[TestClient]:
    path = tmp_path_factory.mktemp("fuzz") / "log.db"
    settings = ServeConfig(
        mode="single", champion="champion", log=PredictionLogConfig(path=str(path))
    )
    with TestClient(
        create_app(settings, lambda s: bundles[s]), raise_server_exceptions=False
    ) as app:
        yield app


@pytest.fixture(scope="module")
def properties(fuzz_app: TestClient) -> dict[str, Any]:
    """The record's properties, as the OpenAPI document publishes them."""
    schemas = fuzz_app.get("/openapi.json").json()["components"]["schemas"]
    return dict(schemas["Record"]["properties"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzzed_requests_never_get_a_5xx(
    fuzz_app: TestClient, properties: dict[str, Any], data: st.DataObject
) -> None:
    record = {name: data.draw(from_schema(spec), label=name) for name, spec in properties.items()}
    mutation = data.draw(st.sampled_from(["none", "replace", "drop", "add"]))
    name = data.draw(st.sampled_from(sorted(properties)))
    if mutation == "replace":
        record[name] = data.draw(ANYTHING)
    elif mutation == "drop":
        record.pop(name)
    elif mutation == "add":
        record[data.draw(st.text(min_size=1, max_size=8))] = data.draw(ANYTHING)
    body = data.draw(
        st.sampled_from([{"records": [record]}, {"records": record}, [record], record])
    )
    response = fuzz_app.post("/predict", json=body)
    assert response.status_code < 500, response.text
    if mutation == "none" and body == {"records": [record]}:
        assert response.status_code == 200, response.text
