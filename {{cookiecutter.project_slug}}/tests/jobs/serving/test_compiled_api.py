"""The API on the compiled path: the same answers as scikit-learn, and /model says which path
serves and why (a graph that fails its checks leaves scikit-learn serving). The default
source, the registry's champion, serves on the graph `register` compiled."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.core.compiled import PROBABILITY_TOLERANCE
from {{ cookiecutter.package_name }}.core.config import PredictionLogConfig, ServeConfig
from {{ cookiecutter.package_name }}.core.conversion import convert
from {{ cookiecutter.package_name }}.core.engine import choose
from {{ cookiecutter.package_name }}.io import params
from {{ cookiecutter.package_name }}.io.bundle import Bundle, load_bundle
from {{ cookiecutter.package_name }}.io.registry import CHAMPION, Registry, model_uri
from {{ cookiecutter.package_name }}.jobs import register
from {{ cookiecutter.package_name }}.jobs.serving.app import create_app

from ...conftest import serving_frame
from ...core.test_engine import records, tampered
from ..test_pipeline_in_process import run_stages
from ..test_register import FAST

Start = Callable[[Bundle], TestClient]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """Serve one bundle as the champion (lifespan included); shut down at the end."""
    with ExitStack() as stack:

        def serve(bundle: Bundle) -> TestClient:
            log = PredictionLogConfig(path=str(tmp_path / "log.db"))
            settings = ServeConfig(mode="single", champion="champion", log=log)
            app = create_app(settings, lambda _: bundle)
            return stack.enter_context(TestClient(app, raise_server_exceptions=False))

        yield serve


def compiled(bundle: Bundle, **converter: Any) -> Bundle:
    """The bundle as `export` writes it: with the engine chosen on its training rows."""
    columns = dict(bundle.metadata.columns)
    choice = choose(bundle.pipeline, columns, serving_frame(), **converter)
    facts = bundle.metadata.model_copy(update={"inference": choice.inference})
    return replace(bundle, metadata=facts, graph=choice.graph)


def test_a_compiled_champion_answers_like_scikit_learn(
    start: Start, bundles: dict[str, Bundle]
) -> None:
    bundle = compiled(bundles["champion"])
    app = start(bundle)
    model = app.get("/model").json()
    assert model["engines"]["champion"]["engine"] == "onnx"
    assert model["champion"]["inference"]["engine"] == "onnx"

    frame = serving_frame(rows=40, seed=3)
    features = bundle.metadata.feature_columns
    body = app.post("/predict", json={"records": records(frame, features)}).json()
    answers = body["predictions"]
    assert [a["prediction"] for a in answers] == bundle.pipeline.predict(frame[features]).tolist()
    classes = bundle.pipeline.classes_.tolist()
    found = np.array([[a["probabilities"][label] for label in classes] for a in answers])
    expected = bundle.pipeline.predict_proba(frame[features])
    np.testing.assert_allclose(found, expected, rtol=0, atol=PROBABILITY_TOLERANCE)


def test_a_broken_conversion_falls_back_and_model_says_why(
    start: Start, bundles: dict[str, Bundle], record: dict[str, Any]
) -> None:
    """Caught at export: the metadata says why; /model shows it; scikit-learn answers."""
    broken = compiled(bundles["champion"], converter=lambda p, c: tampered(convert(p, c)))
    app = start(broken)
    model = app.get("/model").json()
    reason = model["champion"]["inference"]["reason"]
    assert reason.startswith("not compiled: the ONNX graph disagrees with scikit-learn")
    assert model["engines"]["champion"] == {"engine": "sklearn", "reason": reason}
    assert app.post("/predict", json={"records": [record]}).status_code == 200


def test_a_graph_tampered_after_export_is_caught_at_load(
    start: Start, bundles: dict[str, Bundle], record: dict[str, Any]
) -> None:
    bundle = compiled(bundles["champion"])
    assert bundle.graph is not None
    app = start(replace(bundle, graph=tampered(bundle.graph)))
    engine = app.get("/model").json()["engines"]["champion"]
    assert engine["engine"] == "sklearn"
    assert "model.onnx disagrees with the pipeline on probe records" in engine["reason"]
    answer = app.post("/predict", json={"records": [record]}).json()["predictions"][0]
    frame = pd.DataFrame([record], columns=bundle.metadata.feature_columns)
    assert answer["prediction"] == bundle.pipeline.predict(frame).tolist()[0]


def test_the_default_champion_from_the_registry_serves_compiled(workspace: Path) -> None:
    config = params.load(FAST)
    run_stages(config)
    Registry(config.mlflow).promote(register.register(config), "first model")
    settings = config.serve
    assert settings is not None and settings.champion == model_uri(config.mlflow, CHAMPION)

    app = create_app(settings, lambda source: load_bundle(source, config, background=True))
    with TestClient(app) as client:
        model = client.get("/model").json()

    assert model["champion"]["inference"]["engine"] == "onnx", model["champion"]["inference"]
    assert model["engines"]["champion"]["engine"] == "onnx", model["engines"]
