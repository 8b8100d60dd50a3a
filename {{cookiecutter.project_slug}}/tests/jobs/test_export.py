"""`export` on the real pipeline: the champion is compiled when the graph is verified, and a
broken conversion leaves a bundle that serves with scikit-learn and says why."""

from functools import partial
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.core.conversion import convert
from {{ cookiecutter.package_name }}.core.engine import choose
from {{ cookiecutter.package_name }}.io import params, paths
from {{ cookiecutter.package_name }}.io.bundle import COMPILED, METADATA, load_bundle
from {{ cookiecutter.package_name }}.io.files import read_json, read_table
from {{ cookiecutter.package_name }}.io.registry import CHAMPION
from {{ cookiecutter.package_name }}.jobs import evaluate, export, gate, predict, register, split, train, validate

from ..core.test_engine import tampered

FAST = ["release=auto", "release.bootstrap_samples=0", "evaluate.importance_repeats=1"]


def test_export_compiles_the_champion_or_says_why_not(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = params.load(FAST)
    validate.run(config)
    split.run(config)
    train.run(config, persist=True)
    evaluate.run(config)
    register.register(config)
    assert gate.gate(config).passed

    bundle = export.export(config, CHAMPION, workspace / "bundle")
    inference = read_json(bundle / METADATA)["inference"]
    assert inference["engine"] == "onnx", inference["reason"]
    assert (bundle / COMPILED).is_file()
    checked = len(read_table(paths.TEST)) + len(read_table(paths.SCORED_REFERENCE)) + 3
    assert inference["rows_checked"] == checked  # the test split, the reference, three probes
    loaded = load_bundle(str(bundle), config)
    assert loaded.predictor().engine == "onnx"

    # Batch scoring with the bundle gives scikit-learn's predictions, on whichever engine.
    scored = predict.score_file(
        loaded, paths.TEST, workspace / "scored.parquet", chunk_rows=50, progress=False
    )
    test = read_table(paths.TEST)
    expected = loaded.pipeline.predict(test[loaded.metadata.feature_columns]).tolist()
    assert read_table(scored.output)["prediction"].tolist() == expected

    wrong = partial(choose, converter=lambda p, c: tampered(convert(p, c)))
    monkeypatch.setattr(export, "choose", wrong)
    broken = export.export(config, CHAMPION, workspace / "broken")
    inference = read_json(broken / METADATA)["inference"]
    assert inference["engine"] == "sklearn"
    assert inference["reason"].startswith(
        "not compiled: the ONNX graph disagrees with scikit-learn"
    )
    assert not (broken / COMPILED).exists()
    assert load_bundle(str(broken), config).predictor().engine == "sklearn"
    assert f"inference: sklearn, batch: sklearn; {inference['reason']}" in capsys.readouterr().out
