"""config: composing conf/, validating it, and keeping params.yaml in step with it."""

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.config import (
    ColumnSpec,
    Config,
    DataConfig,
    MlflowConfig,
    SplitConfig,
)
from {{ cookiecutter.package_name }}.errors import ConfigError


def test_differences_of_equal_trees_is_empty() -> None:
    tree = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    assert config.differences(tree, {"a": {"b": 1, "c": [1, 2]}, "d": "x"}) == []


def test_differences_names_dotted_keys() -> None:
    expected = {"a": {"b": 1, "c": [1, 2]}, "d": "x", "gone": 1}
    actual = {"a": {"b": 2, "c": [1, 3]}, "d": "x", "new": 1}
    assert config.differences(expected, actual) == ["a.b", "a.c", "gone", "new"]


def test_differences_of_scalars_names_the_root() -> None:
    assert config.differences(1, 2) == ["<root>"]
    assert config.differences({"a": 1}, [1]) == ["<root>"]


def test_compose_gives_a_valid_config(project_config: Config) -> None:
    assert project_config.data.task in {"classification", "regression"}
    assert project_config.data.target in project_config.data.columns
    assert project_config.data.feature_columns


def test_compose_applies_overrides(project_root: Path) -> None:
    assert config.load(["seed=7"]).seed == 7


def test_compose_rejects_an_unknown_option(project_root: Path) -> None:
    with pytest.raises(ConfigError, match="cannot compose conf/"):
        config.compose(["model=no_such_model"])


def test_compose_outside_the_project_root_says_where_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="project root"):
        config.compose()


def test_parse_names_the_dotted_key_of_a_typo(composed: dict[str, Any]) -> None:
    raw = composed
    raw["split"]["test_sise"] = 0.2
    with pytest.raises(ConfigError, match=r"split\.test_sise"):
        config.parse(raw, "test")


def test_parse_names_a_typo_inside_a_column(composed: dict[str, Any]) -> None:
    raw = composed
    column = next(iter(raw["data"]["columns"]))
    raw["data"]["columns"][column]["max_mising"] = 0.1
    with pytest.raises(ConfigError, match=rf"data\.columns\.{column}\.max_mising"):
        config.parse(raw, "test")


def test_parse_names_a_bad_value(composed: dict[str, Any]) -> None:
    raw = composed
    raw["split"]["valid_size"] = 1.5
    with pytest.raises(ConfigError, match=r"split\.valid_size"):
        config.parse(raw, "test")


def test_params_yaml_equals_composed_conf(project_root: Path, composed: dict[str, Any]) -> None:
    """params.yaml never silently disagrees with conf/: run `make params` if this fails."""
    params = config.read_params()
    assert config.differences(composed, params) == []
    assert params == composed


def test_load_params_accepts_the_committed_params(
    project_root: Path, project_config: Config
) -> None:
    assert config.load_params() == project_config


@pytest.fixture
def drifted_project(
    project_root: Path, composed: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A copy of conf/ whose params.yaml changed the seed, as `dvc exp run -S seed=...` does."""
    shutil.copytree(project_root / "conf", tmp_path / "conf")
    params = copy.deepcopy(composed)
    params["seed"] += 1
    (tmp_path / "params.yaml").write_text(config.dump_params(params))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_load_params_refuses_params_that_differ_from_conf(drifted_project: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not match conf/ \(differs at: seed\)"):
        config.load_params()


def test_load_params_accepts_params_composed_by_dvc_exp_run(
    drifted_project: Path,
    composed: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DVC_EXP_NAME", "exp-1")
    loaded = config.load_params()
    assert loaded.seed == composed["seed"] + 1
    assert "seed" in capsys.readouterr().out


def test_read_params_explains_a_missing_or_broken_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="make params"):
        config.read_params()
    Path("params.yaml").write_text(yaml.safe_dump(["not", "a", "mapping"]))
    with pytest.raises(ConfigError, match="not a mapping"):
        config.read_params()


def test_column_spec_rules_must_fit_the_type() -> None:
    with pytest.raises(ValidationError, match="only applies to categorical"):
        ColumnSpec(type="numeric", categories=["a"])
    with pytest.raises(ValidationError, match="only apply to numeric"):
        ColumnSpec(type="categorical", min=0.0)
    with pytest.raises(ValidationError, match="greater than max"):
        ColumnSpec(type="numeric", min=2.0, max=1.0)


def test_data_config_checks_named_columns_and_target_type(
    make_data_config: Callable[..., DataConfig],
) -> None:
    with pytest.raises(ValidationError, match="slice_columns names"):
        make_data_config("classification", slice_columns=["nope"])
    with pytest.raises(ValidationError, match="classification target must be categorical"):
        make_data_config("classification", target="amount")
    with pytest.raises(ValidationError, match="regression target must be numeric"):
        make_data_config("regression", target="label")


def test_feature_columns_leave_out_target_and_non_features(data_config: DataConfig) -> None:
    features = data_config.feature_columns
    assert data_config.target not in features
    assert "day" not in features  # feature: false
    assert set(features) <= set(data_config.columns)
    by_type = data_config.columns_of_type("categorical") + data_config.columns_of_type("numeric")
    assert sorted(by_type) == sorted(features)


def test_split_sizes_must_leave_training_rows() -> None:
    with pytest.raises(ValidationError, match="leave rows for training"):
        SplitConfig(strategy="stratified", valid_size=0.5, test_size=0.5)


def test_tracking_uri_environment_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    mlflow = MlflowConfig(
        tracking_uri="sqlite:///mlflow.db", experiment_name="e", registered_model_name="m"
    )
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert mlflow.effective_tracking_uri == "sqlite:///mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    assert mlflow.effective_tracking_uri == "http://mlflow.internal:5000"
