"""models: the estimator named by the model config, checked before any training."""

from collections.abc import Callable
from pathlib import Path
from typing import get_args

import pandas as pd
import pytest
import yaml
from sklearn.base import is_classifier, is_regressor

from {{ cookiecutter.package_name }}.core.config import Config, DataConfig, ModelConfig
from {{ cookiecutter.package_name }}.core.errors import ConfigError
from {{ cookiecutter.package_name }}.core.models import (
    build_estimator,
    build_pipeline,
    estimator_class,
)
from {{ cookiecutter.package_name }}.core.task import Task

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FOREST = {
    "classification": "sklearn.ensemble.RandomForestClassifier",
    "regression": "sklearn.ensemble.RandomForestRegressor",
}


def model(target: str, **hyperparameters: object) -> ModelConfig:
    return ModelConfig.model_validate({"name": "test", "_target_": target, **hyperparameters})


def test_builds_the_configured_estimator(data_config: DataConfig) -> None:
    estimator = build_estimator(
        model(FOREST[data_config.task], n_estimators=3), data_config.task, 0
    )
    assert estimator.get_params()["n_estimators"] == 3
    assert is_classifier(estimator) == (data_config.task == "classification")


def test_seeds_random_state(data_config: DataConfig) -> None:
    estimator = build_estimator(model(FOREST[data_config.task]), data_config.task, 7)
    assert estimator.get_params()["random_state"] == 7


def test_keeps_an_explicit_random_state(data_config: DataConfig) -> None:
    config = model(FOREST[data_config.task], random_state=3)
    assert build_estimator(config, data_config.task, 7).get_params()["random_state"] == 3


def test_estimator_without_random_state_is_left_alone() -> None:
    estimator = build_estimator(model("sklearn.neighbors.KNeighborsRegressor"), "regression", 7)
    assert "random_state" not in estimator.get_params()


def test_rejects_a_misspelled_hyperparameter_naming_it(data_config: DataConfig) -> None:
    config = model(FOREST[data_config.task], n_estimator=10)
    with pytest.raises(ConfigError, match=r"model\.n_estimator is not a hyperparameter") as error:
        build_estimator(config, data_config.task, 0)
    assert "n_estimators" in str(error.value)  # the valid names are listed


def test_rejects_a_regressor_for_classification() -> None:
    with pytest.raises(ConfigError, match="not a classifier"):
        build_estimator(model("sklearn.linear_model.Ridge"), "classification", 0)


def test_rejects_a_classifier_for_regression() -> None:
    with pytest.raises(ConfigError, match="not a regressor"):
        build_estimator(model("sklearn.linear_model.LogisticRegression"), "regression", 0)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("sklearn.linear_model.NoSuchModel", "cannot be imported"),
        ("no_such_package.Model", "cannot be imported"),
        ("Ridge", "cannot be imported"),
        ("pathlib.Path", "not a scikit-learn estimator"),
    ],
)
def test_rejects_a_target_that_is_not_an_estimator(target: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        estimator_class(target)


def test_a_class_per_task_builds_the_task_s_estimator(data_config: DataConfig) -> None:
    config = ModelConfig.model_validate({"name": "forest", "_target_": FOREST, "max_depth": 2})
    estimator = build_estimator(config, data_config.task, 0)
    assert estimator_class(FOREST[data_config.task]) is type(estimator)


def test_a_model_without_a_class_for_the_task_says_which_it_has() -> None:
    config = ModelConfig.model_validate(
        {
            "name": "logistic",
            "_target_": {"classification": "sklearn.linear_model.LogisticRegression"},
        }
    )
    with pytest.raises(ValueError, match="model=logistic has no regression estimator") as error:
        build_estimator(config, "regression", 0)
    assert "classification" in str(error.value)


def shipped_tasks(config: ModelConfig) -> list[Task]:
    """The tasks a model config serves: those it names a class for, or its one class's kind."""
    if isinstance(config.target, dict):
        return list(config.target)
    return ["classification" if is_classifier(estimator_class(config.target)()) else "regression"]


@pytest.mark.parametrize(
    "path", sorted((PROJECT_ROOT / "conf" / "model").glob("*.yaml")), ids=lambda path: path.stem
)
def test_every_shipped_model_config_builds(path: Path) -> None:
    """A typo in conf/model/<name>.yaml fails here, not after the data stages have run."""
    config = ModelConfig.model_validate(yaml.safe_load(path.read_text()))
    assert config.name == path.stem
    for task in shipped_tasks(config):
        estimator = build_estimator(config, task, 7)
        assert is_classifier(estimator) == (task == "classification")
        assert estimator.get_params().get("random_state", 7) == 7


def test_every_task_has_shipped_models() -> None:
    served = [
        task
        for path in (PROJECT_ROOT / "conf" / "model").glob("*.yaml")
        for task in shipped_tasks(ModelConfig.model_validate(yaml.safe_load(path.read_text())))
    ]
    for task in get_args(Task):
        assert served.count(task) >= 3, task  # a baseline plus the two that serve both tasks


def test_project_model_fits_a_small_frame(
    project_config: Config, make_data_config: Callable[..., DataConfig], frame: pd.DataFrame
) -> None:
    """The configured model of this project, on the toy data of the project's task."""
    data = make_data_config(project_config.data.task)
    pipeline = build_pipeline(project_config.model_copy(update={"data": data}))
    pipeline.fit(frame[data.feature_columns], frame[data.target])
    predictions = pipeline.predict(frame[data.feature_columns])
    assert len(predictions) == len(frame)
    if data.task == "classification":
        assert is_classifier(pipeline)
        assert set(predictions) <= {"a", "b"}
    else:
        assert is_regressor(pipeline)
        assert pd.Series(predictions).between(0.0, 20.0).all()
