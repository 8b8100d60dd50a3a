"""Model selection's pure part: the config of conf/tune, what a trial draws, the folds it is
scored on, pruning, the study key and the config written back."""

from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.core import tuning
from {{ cookiecutter.package_name }}.core.config import (
    CategoricalSpace,
    Config,
    DataConfig,
    FloatSpace,
    IntSpace,
    ModelConfig,
    TuneConfig,
    parse,
)
from {{ cookiecutter.package_name }}.core.errors import ConfigError
from {{ cookiecutter.package_name }}.core.metrics import METRICS

SPACES: dict[str, dict[str, Any]] = {
    "forest": {
        "n_estimators": IntSpace(type="int", low=10, high=40, log=True),
        "max_depth": CategoricalSpace(type="categorical", choices=[None, 2, 4]),
        "max_features": CategoricalSpace(type="categorical", choices=["sqrt", 1.0]),
    },
    "linear": {"C": FloatSpace(type="float", low=0.01, high=10.0, log=True)},
}


def trial(seed: int = 0) -> optuna.Trial:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return study.ask()


def toy(config: Config, data: DataConfig, model: dict[str, Any]) -> Config:
    """``config`` on the toy schema with ``model`` (a conf/model document)."""
    return config.model_copy(update={"data": data, "model": ModelConfig.model_validate(model)})


LOGISTIC = {"name": "linear", "_target_": "sklearn.linear_model.LogisticRegression", "C": 1.0}
FOREST = {
    "name": "forest",
    "_target_": {
        "classification": "sklearn.ensemble.RandomForestClassifier",
        "regression": "sklearn.ensemble.RandomForestRegressor",
    },
    "n_estimators": 20,
}


# --- conf/tune, as the typed config checks it


def test_the_shipped_conf_tune_is_valid(project_config: Config) -> None:
    tune = project_config.tune
    assert tune.n_trials or tune.timeout_seconds
    assert project_config.tune_metric in METRICS


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_trials": None, "timeout_seconds": None}, "a study needs a budget"),
        ({"cv_folds": 1}, "cv_folds must be 0"),
        ({"models": []}, "models is empty"),
        ({"spaces": {"m": {"C": {"type": "float", "low": 1.0, "high": 1.0}}}}, "must be below"),
        (
            {"spaces": {"m": {"C": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}}},
            "low > 0",
        ),
        (
            {"spaces": {"m": {"k": {"type": "int", "low": 1, "high": 9, "log": True, "step": 2}}}},
            "step 1",
        ),
        ({"spaces": {"m": {"k": {"type": "choice", "choices": [1]}}}}, "type"),
        ({"spaces": {"m": {"k": {"type": "categorical", "choices": []}}}}, "choices"),
    ],
)
def test_a_bad_tune_config_names_the_problem(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TuneConfig.model_validate(changes)


def test_a_tune_metric_of_the_other_task_is_refused(composed: dict[str, Any]) -> None:
    task = composed["data"]["task"]
    other = next(metric for metric in METRICS.values() if metric.task != task)
    composed["tune"]["metric"] = other.name
    with pytest.raises(ConfigError, match=r"tune\.metric"):
        parse(composed, "conf/")


def test_the_storage_variable_wins_over_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    tune = TuneConfig(storage="sqlite:///optuna.db")
    monkeypatch.setenv("OPTUNA_STORAGE", "postgresql+psycopg://tuner@db:5432/optuna")
    assert tune.effective_storage == "postgresql+psycopg://tuner@db:5432/optuna"
    monkeypatch.delenv("OPTUNA_STORAGE")
    assert tune.effective_storage == "sqlite:///optuna.db"


# --- What a trial draws


@pytest.mark.parametrize("seed", range(5))
def test_a_trial_draws_one_model_and_only_its_ranges(seed: int) -> None:
    drawn = trial(seed)
    model, hyperparameters = tuning.sample(drawn, ["forest", "linear", "plain"], SPACES)

    assert set(hyperparameters) == set(SPACES.get(model, {}))
    for name, value in hyperparameters.items():
        space = SPACES[model][name]
        if isinstance(space, CategoricalSpace):
            assert value in space.choices
        else:
            assert space.low <= value <= space.high  # type: ignore[operator]
    assert set(drawn.params) == {tuning.MODEL_PARAM} | {f"{model}.{n}" for n in hyperparameters}
    assert tuning.hyperparameters_of(drawn.params) == (model, hyperparameters)


def test_a_model_without_ranges_is_tried_with_its_file() -> None:
    model, hyperparameters = tuning.sample(trial(), ["plain"], SPACES)
    assert (model, hyperparameters) == ("plain", {})


def test_drawn_hyperparameters_replace_the_files_values(project_config: Config) -> None:
    base = project_config.model_copy(update={"model": ModelConfig.model_validate(FOREST)})
    tried = tuning.with_hyperparameters(base, {"n_estimators": 33, "max_depth": 4})
    assert tried.model.hyperparameters == {"n_estimators": 33, "max_depth": 4}
    assert base.model.hyperparameters == {"n_estimators": 20}


def test_a_model_of_the_other_task_is_a_misfit_and_a_broken_one_an_error() -> None:
    ridge = ModelConfig.model_validate({"name": "ridge", "_target_": "sklearn.linear_model.Ridge"})
    assert tuning.misfit(ridge, "regression") is None
    assert "is not a classifier" in str(tuning.misfit(ridge, "classification"))
    only_one = ModelConfig.model_validate({**FOREST, "_target_": {"regression": "x.Y"}})
    assert "has no classification estimator" in str(tuning.misfit(only_one, "classification"))
    broken = ModelConfig.model_validate({"name": "broken", "_target_": "sklearn.no_such.Model"})
    with pytest.raises(ConfigError, match="cannot be imported"):
        tuning.misfit(broken, "classification")


def test_a_range_of_no_hyperparameter_is_refused(
    project_config: Config, classification_data: DataConfig
) -> None:
    candidates = {"linear": toy(project_config, classification_data, LOGISTIC)}
    tuning.check_spaces({"linear": SPACES["linear"], "other": SPACES["forest"]}, candidates)
    with pytest.raises(
        ConfigError, match=r"tune.spaces.linear.max_depth is not a hyperparameter of model=linear"
    ):
        tuning.check_spaces({"linear": SPACES["forest"]}, candidates)


# --- Folds, scores and pruning


def split_as(config: Config, strategy: str) -> Config:
    return config.model_copy(
        update={"split": config.split.model_copy(update={"strategy": strategy})}
    )


def test_folds_partition_the_rows_and_follow_the_split_strategy(
    project_config: Config,
    make_data_config: Callable[..., DataConfig],
    make_frame: Callable[..., pd.DataFrame],
) -> None:
    frame = make_frame(rows=80)
    config = toy(project_config, make_data_config("classification"), LOGISTIC)
    for strategy in ("stratified", "group", "time"):
        splits = tuning.folds(split_as(config, strategy), frame, 4)
        assert len(splits) == 4, strategy
        for fit_rows, score_rows in splits:
            assert not set(fit_rows) & set(score_rows), strategy
        if strategy == "stratified":
            scored = np.sort(np.concatenate([rows for _, rows in splits]))
            assert (scored == np.arange(len(frame))).all()
        if strategy == "group":
            shops = frame["shop"].to_numpy()
            assert all(not set(shops[a]) & set(shops[b]) for a, b in splits)
        if strategy == "time":
            days = frame["day"].to_numpy()
            assert all(days[a].max() < days[b].min() for a, b in splits)


def test_too_few_groups_for_the_folds_is_a_clear_error(
    project_config: Config,
    make_data_config: Callable[..., DataConfig],
    make_frame: Callable[..., pd.DataFrame],
) -> None:
    config = split_as(toy(project_config, make_data_config("classification"), LOGISTIC), "group")
    with pytest.raises(ConfigError, match="training split has 10 groups of shop"):
        tuning.folds(config, make_frame(), 11)


def test_every_fold_is_scored_unless_the_pruner_stops_it(
    project_config: Config, data_config: DataConfig, frame: pd.DataFrame
) -> None:
    config = toy(project_config, data_config, FOREST)
    metric = next(metric for metric in METRICS.values() if metric.task == data_config.task)
    splits = tuning.folds(config, frame, 3)
    seen: list[tuple[int, float]] = []

    def keep_going(fold: int, value: float) -> bool:
        seen.append((fold, value))
        return False

    full = tuning.evaluate(config, frame, splits, metric, keep_going)
    assert not full.stopped and len(full.scores) == 3
    assert [fold for fold, _ in seen] == [0, 1]  # the last fold's mean is the result itself
    assert seen[1][1] == pytest.approx(np.mean(full.scores[:2]))
    stopped = tuning.evaluate(config, frame, splits, metric, lambda fold, value: True)
    assert stopped.stopped and stopped.scores == pytest.approx(full.scores[:1])


def test_the_validation_split_is_one_fold(frame: pd.DataFrame) -> None:
    train, valid = frame.head(40), frame.tail(20)
    joined, [(fit_rows, score_rows)] = tuning.validation_fold(train, valid)
    assert joined.iloc[fit_rows].equals(train.reset_index(drop=True))
    assert joined.iloc[score_rows].reset_index(drop=True).equals(valid.reset_index(drop=True))


# --- One study per comparable search, and the config written back


def test_the_study_key_changes_with_what_makes_scores_comparable(
    project_config: Config, classification_data: DataConfig
) -> None:
    config = toy(project_config, classification_data, LOGISTIC)
    candidates = {"linear": config}
    key = tuning.study_key(config, candidates, "md5")
    assert key == tuning.study_key(config, dict(candidates), "md5")
    assert key != tuning.study_key(config, candidates, "other data")
    spaced = config.model_copy(
        update={"tune": config.tune.model_copy(update={"spaces": {"linear": SPACES["linear"]}})}
    )
    assert key != tuning.study_key(spaced, {"linear": spaced}, "md5")
    budget = config.model_copy(update={"tune": config.tune.model_copy(update={"n_trials": 999})})
    assert key == tuning.study_key(budget, {"linear": budget}, "md5")  # the budget is not


def test_the_tuned_model_is_the_tasks_class_with_every_hyperparameter(
    project_config: Config, classification_data: DataConfig
) -> None:
    candidate = toy(project_config, classification_data, FOREST)
    document = tuning.tuned_model(candidate, {"n_estimators": 33})
    text = tuning.render(document, ["Written by a test.", "Second line."])

    assert text.startswith("# Written by a test.\n# Second line.\n")
    assert yaml.safe_load(text) == {
        "name": tuning.TUNED,
        "_target_": "sklearn.ensemble.RandomForestClassifier",
        "n_estimators": 33,
    }
    ModelConfig.model_validate(yaml.safe_load(text))


CONFIG = """\
# The one place.
defaults:
  - data: penguins
  - features: default  # a comment
  - _self_

seed: 42
"""


def test_selecting_the_tuned_model_keeps_the_rest_of_config_yaml() -> None:
    selected = tuning.select_model(CONFIG, "tuned")
    assert selected == CONFIG.replace(
        "  - _self_", "  - override /model: tuned  # written by `tune` (conf/tune/)\n  - _self_"
    )
    assert tuning.select_model(selected, "tuned") == selected
    assert "override /model: other " in tuning.select_model(selected, "other")
    assert yaml.safe_load(selected)["defaults"][2] == {"override /model": "tuned"}


def test_a_config_yaml_without_self_cannot_select_a_model() -> None:
    with pytest.raises(ConfigError, match="no `- _self_` entry"):
        tuning.select_model("defaults:\n  - data: penguins\n", "tuned")
