"""`export` on the real pipeline: the bundle carries what `register` compiled, without compiling
again; a version registered before that is compiled here, and a broken conversion leaves a
bundle that serves with scikit-learn and says why."""

from functools import partial
from pathlib import Path

import mlflow
import pytest

from {{ cookiecutter.package_name }}.core.bundle_metadata import Inference
from {{ cookiecutter.package_name }}.core.conversion import convert
from {{ cookiecutter.package_name }}.core.engine import choose
from {{ cookiecutter.package_name }}.io import compilation, params, paths
from {{ cookiecutter.package_name }}.io.bundle import COMPILED, METADATA, load_bundle
from {{ cookiecutter.package_name }}.io.compilation import COMPILED_DIR, FACTS, GRAPH
from {{ cookiecutter.package_name }}.io.files import read_json, read_table
from {{ cookiecutter.package_name }}.io.registry import CHALLENGER, Registry
from {{ cookiecutter.package_name }}.jobs import export, predict

from ..core.test_engine import tampered
from .test_pipeline_in_process import run_stages
from .test_register import FAST, registered_then_counted


def test_export_copies_what_register_compiled(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, run_id, converted = registered_then_counted(monkeypatch)

    bundle = export.export(config, CHALLENGER, workspace / "bundle")

    assert converted == []  # no second conversion
    facts = mlflow.artifacts.load_dict(f"runs:/{run_id}/{COMPILED_DIR}/{FACTS}")
    assert read_json(bundle / METADATA)["inference"] == facts
    graph = Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/{COMPILED_DIR}/{GRAPH}"))
    assert (bundle / COMPILED).read_bytes() == graph.read_bytes()
    loaded = load_bundle(str(bundle), config)
    assert loaded.predictor().engine == "onnx"

    # Batch scoring with the bundle gives scikit-learn's predictions, on whichever engine.
    scored = predict.score_file(
        loaded, paths.TEST, workspace / "scored.parquet", chunk_rows=50, progress=False
    )
    test = read_table(paths.TEST)
    expected = loaded.pipeline.predict(test[loaded.metadata.feature_columns]).tolist()
    assert read_table(scored.output)["prediction"].tolist() == expected


def test_export_compiles_a_version_registered_without_or_says_why_not(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = params.load(FAST)
    run_id = run_stages(config)
    Registry(config.mlflow).register(read_json(paths.TRAIN_RUN)["model_uri"], run_id, {})

    bundle = export.export(config, CHALLENGER, workspace / "bundle")
    inference = Inference.model_validate(read_json(bundle / METADATA)["inference"])
    assert inference.engine == "onnx", inference.reason
    assert (bundle / COMPILED).is_file()
    checked = len(read_table(paths.TEST)) + len(read_table(paths.SCORED_REFERENCE)) + 3
    assert inference.rows_checked == checked  # the test split, the reference, three probes
    assert load_bundle(str(bundle), config).predictor().engine == "onnx"

    wrong = partial(choose, converter=lambda p, c: tampered(convert(p, c)))
    monkeypatch.setattr(compilation, "choose", wrong)
    broken = export.export(config, CHALLENGER, workspace / "broken")
    inference = Inference.model_validate(read_json(broken / METADATA)["inference"])
    assert inference.engine == "sklearn"
    assert inference.reason.startswith("not compiled: the ONNX graph disagrees with scikit-learn")
    assert not (broken / COMPILED).exists()
    assert load_bundle(str(broken), config).predictor().engine == "sklearn"
    assert inference.summary in capsys.readouterr().out
