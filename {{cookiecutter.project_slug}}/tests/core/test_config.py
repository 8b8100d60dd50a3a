"""core.config: the typed schema of a composed configuration, and its error messages."""

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.core import config
from {{ cookiecutter.package_name }}.core.config import (
    ColumnSpec,
    Config,
    DataConfig,
    MlflowConfig,
    SplitConfig,
)
from {{ cookiecutter.package_name }}.core.errors import ConfigError


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
