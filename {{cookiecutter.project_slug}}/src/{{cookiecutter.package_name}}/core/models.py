"""The estimator named by the `model` config group, the full pipeline, and how it predicts."""

import importlib
import inspect
from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator, is_classifier, is_regressor
from sklearn.pipeline import Pipeline

from .config import Config, ModelConfig
from .errors import ConfigError
from .features import build_preprocessor
from .imbalance import balanced, thresholded
from .task import Task


def estimator_class(target: str) -> type[BaseEstimator]:
    """Import the class named by ``_target_`` (e.g. sklearn.linear_model.Ridge)."""
    module_name, _, class_name = target.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(f"model._target_={target!r} cannot be imported: {error}") from error
    if not (inspect.isclass(found) and issubclass(found, BaseEstimator)):
        raise ConfigError(f"model._target_={target!r} is not a scikit-learn estimator class.")
    return found


def build_estimator(model: ModelConfig, task: Task, seed: int) -> BaseEstimator:
    """Instantiate the estimator, checking its kind and every hyperparameter name."""
    target = model.target_for(task)
    cls = estimator_class(target)
    estimator = cls()
    if task == "classification" and not is_classifier(estimator):
        raise ConfigError(
            f"model={model.name} ({target}) is not a classifier; data.task is classification."
        )
    if task == "regression" and not is_regressor(estimator):
        raise ConfigError(
            f"model={model.name} ({target}) is not a regressor, but data.task is regression."
        )
    valid = estimator.get_params()
    unknown = sorted(set(model.hyperparameters) - set(valid))
    if unknown:
        raise ConfigError(
            f"model.{unknown[0]} is not a hyperparameter of {cls.__name__}; "
            f"valid ones: {', '.join(sorted(valid))}"
        )
    params: dict[str, Any] = dict(model.hyperparameters)
    if "random_state" in valid and params.get("random_state") is None:
        params["random_state"] = seed
    return cls(**params)


def build_pipeline(config: Config, positive: str | None = None) -> Pipeline:
    """Preprocessing then estimator: the single object that is trained, logged and served.

    ``imbalance`` may weigh the classes, or make the estimator decide by its probability of
    the ``positive`` class against a threshold that `train` tunes on the validation split.
    """
    estimator = build_estimator(config.model, config.data.task, config.seed)
    if config.imbalance.strategy == "class_weight":
        estimator = balanced(estimator, config.model.name)
    if config.imbalance.strategy == "threshold":
        estimator = thresholded(estimator, positive, config.model.name)
    preprocessor = build_preprocessor(config.data, config.features, seed=config.seed)
    return Pipeline([("preprocess", preprocessor), ("model", estimator)])


def features_and_target(frame: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, pd.Series]:
    return frame[config.data.feature_columns], frame[config.data.target]


def predict_with_proba(pipeline: Pipeline, features: pd.DataFrame) -> tuple[Any, Any]:
    """Predictions, plus class probabilities for a classifier (None for a regressor)."""
    predictions = pipeline.predict(features)
    proba = pipeline.predict_proba(features) if hasattr(pipeline, "predict_proba") else None
    return predictions, proba
