"""`register` compiles the version's model once, logged to its run before the version exists;
every reader of the registry serves that graph, or scikit-learn with the reason it has none."""

from functools import partial
from pathlib import Path
from typing import Any

import mlflow
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.core.bundle_metadata import NOT_COMPILED
from {{ cookiecutter.package_name }}.core.config import Config
from {{ cookiecutter.package_name }}.core.conversion import convert
from {{ cookiecutter.package_name }}.core.engine import choose
from {{ cookiecutter.package_name }}.core.errors import ProjectError
from {{ cookiecutter.package_name }}.io import compilation, params, paths
from {{ cookiecutter.package_name }}.io.bundle import load_bundle
from {{ cookiecutter.package_name }}.io.compilation import COMPILED_DIR, FACTS, GRAPH
from {{ cookiecutter.package_name }}.io.files import read_json, read_table
from {{ cookiecutter.package_name }}.io.registry import CHALLENGER, Registry, model_uri
from {{ cookiecutter.package_name }}.jobs import register

from ..core.test_engine import tampered
from .test_pipeline_in_process import run_stages

FAST = ["evaluate.importance_repeats=1", "evaluate.fairness.bootstrap_samples=0"]


def logged(config: Config, run_id: str) -> set[str]:
    """The files under ``compiled/`` in the run's artifacts."""
    client = Registry(config.mlflow).client
    return {Path(item.path).name for item in client.list_artifacts(run_id, COMPILED_DIR)}


def counting(converted: list[object]) -> Any:
    """`choose` with the real converter, noting each pipeline it converts in ``converted``."""

    def converter(pipeline: Any, columns: Any) -> bytes:
        converted.append(pipeline)
        return convert(pipeline, columns)

    return partial(choose, converter=converter)


def registered_then_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Config, str, list[object]]:
    """The stages run and the model registered (compiled once); from then on every conversion
    is noted in the list returned."""
    config = params.load(FAST)
    run_id = run_stages(config)
    register.register(config)
    converted: list[object] = []
    monkeypatch.setattr(compilation, "choose", counting(converted))
    return config, run_id, converted


def test_a_version_is_compiled_before_it_is_created_and_served_compiled_from_the_registry(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = params.load(FAST)
    run_id = run_stages(config)
    on_the_run_when_created: list[set[str]] = []
    create = Registry.register

    def registering(registry: Registry, *args: Any) -> Any:
        on_the_run_when_created.append(logged(config, run_id))
        return create(registry, *args)

    monkeypatch.setattr(Registry, "register", registering)

    register.register(config)

    assert on_the_run_when_created == [{FACTS, GRAPH}]
    bundle = load_bundle(model_uri(config.mlflow, CHALLENGER), config)
    inference = bundle.metadata.inference
    assert inference.engine == "onnx", inference.reason
    checked = len(read_table(paths.TEST)) + len(read_table(paths.SCORED_REFERENCE)) + 3
    assert inference.rows_checked == checked  # the test split, the reference, three probes
    assert inference.summary in capsys.readouterr().out
    predictor = bundle.predictor()
    assert predictor.engine == "onnx"
    assert predictor.engine_reason.startswith("model.onnx, verified when compiled")


@pytest.mark.parametrize(
    ("converter", "reason"),
    [
        (lambda p, c: tampered(convert(p, c)), "the ONNX graph disagrees with scikit-learn"),
        (lambda p, c: b"not a graph", "the ONNX graph cannot be run"),
    ],
    ids=["wrong answers", "no graph"],
)
def test_a_broken_conversion_registers_the_version_served_by_scikit_learn_saying_why(
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    converter: Any,
    reason: str,
) -> None:
    config = params.load(FAST)
    run_id = run_stages(config)
    monkeypatch.setattr(compilation, "choose", partial(choose, converter=converter))

    version = register.register(config)

    assert version.run_id == run_id
    assert logged(config, run_id) == {FACTS}  # the facts say why; no graph
    facts = mlflow.artifacts.load_dict(f"runs:/{run_id}/{COMPILED_DIR}/{FACTS}")
    assert facts["engine"] == "sklearn"
    assert facts["reason"].startswith(f"not compiled: {reason}")
    out = capsys.readouterr().out
    assert f"inference: sklearn, batch: sklearn; {facts['reason']}" in out
    assert f"registered {version.name} version {version.version} as 'challenger'" in out
    predictor = load_bundle(model_uri(config.mlflow, CHALLENGER), config).predictor()
    assert (predictor.engine, predictor.engine_reason) == ("sklearn", facts["reason"])


def test_a_run_registered_again_keeps_what_it_was_compiled_to(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, run_id, converted = registered_then_counted(monkeypatch)

    again = register.register(config)

    assert converted == [] and again.version == "1"
    assert logged(config, run_id) == {FACTS, GRAPH}


def test_a_version_registered_before_compilation_serves_with_scikit_learn_and_says_so(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = params.load(FAST)
    run_id = run_stages(config)
    registry = Registry(config.mlflow)
    registry.register(read_json(paths.TRAIN_RUN)["model_uri"], run_id, {})  # as `register` did
    uri = model_uri(config.mlflow, CHALLENGER)

    def download(*args: object) -> None:
        raise AssertionError(f"nothing to download for a run without {COMPILED_DIR}/: {args}")

    with monkeypatch.context() as patch:
        patch.setattr(MlflowClient, "download_artifacts", download)
        bundle = load_bundle(uri, config)

    assert bundle.graph is None
    assert bundle.metadata.inference.reason == NOT_COMPILED
    assert NOT_COMPILED.startswith("registered without a compiled model")
    predictor = bundle.predictor()
    assert (predictor.engine, predictor.engine_reason) == ("sklearn", NOT_COMPILED)

    registry.client.log_dict(run_id, {"engine": "tpu"}, f"{COMPILED_DIR}/{FACTS}")
    with pytest.raises(ProjectError, match=rf"{COMPILED_DIR}/{FACTS} of run {run_id} is not valid"):
        load_bundle(uri, config)
