"""The `validate` stage: the raw file and the production batches, as one table."""

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import Config, DataChecksConfig, DataConfig
from {{ cookiecutter.package_name }}.core.errors import DataValidationError, ProjectError
from {{ cookiecutter.package_name }}.io import paths
from {{ cookiecutter.package_name }}.io.files import read_table, write_table
from {{ cookiecutter.package_name }}.jobs import validate

Frame = Callable[..., pd.DataFrame]


@pytest.fixture
def config(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    project_config: Config,
    classification_data: DataConfig,
    make_frame: Frame,
) -> Config:
    """The toy dataset in tmp_path: 30 raw rows, no production batch yet."""
    monkeypatch.chdir(tmp_path)
    write_table(make_frame(30), Path(classification_data.path))
    return project_config.model_copy(update={"data": classification_data})


def batch(name: str, frame: pd.DataFrame) -> Path:
    path = paths.production_dir("toy") / name
    write_table(frame, path)
    return path


def test_raw_rows_then_production_batches_in_order(config: Config, make_frame: Frame) -> None:
    raw = Path(config.data.path).read_bytes()
    batch("20260102T000000Z.parquet", make_frame(5, seed=2).assign(shop="late"))
    batch("20260101T000000Z.parquet", make_frame(10, seed=1).assign(shop="early"))

    validate.run(config)

    validated = read_table(paths.VALIDATED)
    assert len(validated) == 45
    assert validated["shop"].iloc[30:].tolist() == ["early"] * 10 + ["late"] * 5
    report = json.loads(paths.VALIDATION_REPORT.read_text())
    assert report["production_batches"] == [
        "data/production/toy/20260101T000000Z.parquet",
        "data/production/toy/20260102T000000Z.parquet",
    ]
    assert Path(config.data.path).read_bytes() == raw  # raw data is immutable


def test_a_bad_production_row_fails_validation_naming_the_batches(
    config: Config, make_frame: Frame
) -> None:
    batch("20260101T000000Z.parquet", make_frame(3).assign(size=99.0))  # max is 10
    with pytest.raises(DataValidationError, match=r"toy\.csv \+ 1 production batch\(es\)"):
        validate.run(config)
    assert not paths.VALIDATED.exists()
    assert json.loads(paths.VALIDATION_REPORT.read_text())["valid"] is False


def test_production_data_tracked_but_not_fetched_is_an_error(config: Config) -> None:
    folder = paths.production_dir("toy")
    folder.parent.mkdir(parents=True)
    folder.with_name("toy.dvc").write_text("outs:\n- path: toy\n")
    with pytest.raises(ProjectError, match="make data"):
        validate.run(config)


def leaking(config: Config, make_frame: Frame) -> None:
    """The raw file with ``size`` set from the label: a leak a model would love. (The toy's
    shops follow the row order as its labels do: shuffled, so that only ``size`` leaks.)"""
    frame = make_frame(30)
    leak = frame["label"].map({"a": 1.0, "b": 9.0})
    shops = frame["shop"].sample(frac=1.0, random_state=1).to_numpy()
    write_table(frame.assign(size=leak, shop=shops), Path(config.data.path))


def test_a_blocking_finding_stops_validate_naming_column_and_figure(
    config: Config, make_frame: Frame
) -> None:
    leaking(config, make_frame)
    with pytest.raises(DataValidationError) as caught:
        validate.run(config)
    message = str(caught.value)
    assert "1 blocking finding(s)" in message
    assert (
        "'size' alone predicts 'label' with a cross-validated balanced accuracy of 1.000" in message
    )
    assert "set `feature: false`" in message and "conf/data/toy.yaml" in message
    assert not paths.VALIDATED.exists()
    report = json.loads(paths.VALIDATION_REPORT.read_text())
    assert report["valid"] is False
    assert [(f["check"], f["column"], f["figure"]) for f in report["findings"]] == [
        ("leakage", "size", 1.0)
    ]


def test_a_warning_finding_is_printed_and_reported(
    config: Config, make_frame: Frame, capsys: pytest.CaptureFixture[str]
) -> None:
    leaking(config, make_frame)
    checks = DataChecksConfig.model_validate({"leakage": {"action": "warn"}})
    warned = config.model_copy(update={"data": config.data.model_copy(update={"checks": checks})})
    validate.run(warned)
    assert "warning: leakage: 'size' alone predicts 'label'" in capsys.readouterr().out
    report = json.loads(paths.VALIDATION_REPORT.read_text())
    assert report["valid"] is True and report["findings"][0]["blocking"] is False
    assert paths.VALIDATED.exists()
