"""core.config: the typed schema of a composed configuration, and its error messages."""

from collections.abc import Callable
from pathlib import Path
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
from {{ cookiecutter.package_name }}.core.metrics import METRICS, metrics_for
from {{ cookiecutter.package_name }}.io import params


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


def test_personal_data_is_a_feature_only_by_explicit_opt_in(composed: dict[str, Any]) -> None:
    assert not ColumnSpec(type="categorical", pii=True, feature=False).feature
    assert ColumnSpec(type="categorical", pii=True, allow_pii_feature=True).feature
    column = next(iter(composed["data"]["columns"]))
    composed["data"]["columns"][column]["pii"] = True
    with pytest.raises(ConfigError) as caught:
        config.parse(composed, "conf/")
    assert f"data.columns.{column}: Value error, a pii: true column" in str(caught.value)
    assert "set feature: false, or" in str(caught.value)
    assert "allow_pii_feature: true" in str(caught.value)


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


# --- Metrics and the model must fit the task; the task comes from the dataset's config.


def other_task_metric(task: str) -> str:
    return next(name for name, metric in METRICS.items() if metric.task != task)


@pytest.mark.parametrize(
    "key", ["release.primary_metric", "monitor.performance.metric", "evaluate.scoring"]
)
def test_a_metric_of_the_other_task_is_named_with_the_valid_ones(
    composed: dict[str, Any], key: str
) -> None:
    task = composed["data"]["task"]
    section, _, name = key.rpartition(".")
    node = composed
    for part in section.split("."):
        node = node[part]
    node[name] = other_task_metric(task)
    with pytest.raises(ConfigError, match=rf"{key}='\w+' is not a {task} metric") as error:
        config.parse(composed, "test")
    assert ", ".join(metric.name for metric in metrics_for(task)) in str(error.value)


def test_an_unknown_metric_is_named_with_the_registry(composed: dict[str, Any]) -> None:
    composed["release"]["primary_metric"] = "acuracy"
    with pytest.raises(ConfigError, match=r"release\.primary_metric: .*'acuracy' is not a regis"):
        config.parse(composed, "test")


def test_a_dataset_that_selects_no_task_says_how_to(composed: dict[str, Any]) -> None:
    del composed["data"]["task"]
    with pytest.raises(ConfigError, match=r"data: .*no task: select one .*- /task: classification"):
        config.parse(composed, "test")


def test_a_model_without_a_class_for_the_task_is_refused(composed: dict[str, Any]) -> None:
    other = "regression" if composed["data"]["task"] == "classification" else "classification"
    composed["model"]["_target_"] = {other: "sklearn.dummy.DummyRegressor"}
    with pytest.raises(ConfigError, match=f"has no {composed['data']['task']} estimator"):
        config.parse(composed, "test")


@pytest.mark.parametrize(
    ("dataset", "task", "model", "metric"),
    [
        ("penguins", "classification", "logistic_regression", "accuracy"),
        ("penguins_body_mass", "regression", "ridge", "rmse"),
    ],
)
def test_the_dataset_selects_the_task_and_its_defaults(
    project_root: Path, dataset: str, task: str, model: str, metric: str
) -> None:
    """Whatever task the project was generated for, both example datasets compose."""
    loaded = config.parse(params.compose([f"data={dataset}"]), dataset)
    assert (loaded.data.name, loaded.data.task, loaded.model.name) == (dataset, task, model)
    assert loaded.release.primary_metric == loaded.monitor.performance.metric == metric
    assert METRICS[loaded.evaluate.scoring].task == task


def test_a_model_override_wins_over_the_task_default(project_root: Path) -> None:
    loaded = config.parse(params.compose(["data=penguins_body_mass", "model=random_forest"]), "x")
    assert loaded.model.name == "random_forest"
    assert loaded.model.target_for(loaded.data.task) == "sklearn.ensemble.RandomForestRegressor"
