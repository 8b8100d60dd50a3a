"""Class imbalance: weigh the rare classes up, or move a binary classifier's decision threshold.

Pure. ``class_weight`` sets the estimator's own ``class_weight="balanced"``; ``threshold``
wraps it in scikit-learn's ``FixedThresholdClassifier``, whose threshold the `train` job tunes
on the validation split after fitting. Both change only how the pipeline decides, never its
inputs: the one pipeline artifact is served as before.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.model_selection import FixedThresholdClassifier

from .config import ImbalanceConfig
from .errors import ConfigError
from .metrics import Outcome, metric_for

DEFAULT_THRESHOLD = 0.5
CANDIDATES = 101  # thresholds tried: quantiles of the validation probabilities, plus 0.5


def positive_class(target: pd.Series, settings: ImbalanceConfig) -> str:
    """The class whose probability is thresholded: the configured one, else the rarer one."""
    counts = target.astype(str).value_counts()
    if len(counts) != 2:
        raise ConfigError(
            f"imbalance.strategy=threshold needs a binary target; the training split has "
            f"{len(counts)} classes ({', '.join(map(str, counts.index[:5]))}): "
            "use imbalance=class_weight"
        )
    if settings.positive_class is not None:
        if settings.positive_class not in counts.index:
            raise ConfigError(
                f"imbalance.positive_class={settings.positive_class!r} is not a class of the "
                f"training split ({', '.join(map(str, counts.index))})"
            )
        return settings.positive_class
    return str(counts.sort_index().idxmin())  # ties: the first in sorted order


def class_weights(target: pd.Series) -> dict[str, float]:
    """scikit-learn's "balanced" weights, for the record: rows / (classes x rows of the class)."""
    counts = target.astype(str).value_counts().sort_index()
    return {str(label): len(target) / (len(counts) * int(count)) for label, count in counts.items()}


def balanced(estimator: BaseEstimator, model_name: str) -> BaseEstimator:
    """``estimator`` with ``class_weight="balanced"``: part of the model, so cross-validation
    and retraining weigh the classes the same way."""
    params = estimator.get_params(deep=False)
    if "class_weight" not in params:
        raise ConfigError(
            f"imbalance.strategy=class_weight: model={model_name} "
            f"({type(estimator).__name__}) has no class_weight; pick another model "
            "(logistic_regression, random_forest, hist_gradient_boosting) or imbalance=threshold"
        )
    if params["class_weight"] is not None:
        raise ConfigError(
            f"model.class_weight={params['class_weight']!r} and imbalance.strategy=class_weight "
            "both weigh the classes: keep one"
        )
    return estimator.set_params(class_weight="balanced")


def thresholded(estimator: BaseEstimator, positive: str | None, model_name: str) -> BaseEstimator:
    """``estimator`` deciding by its probability of ``positive`` (None: the second class)
    against a threshold: 0.5, the estimator's own decision, until ``tune_threshold`` moves it."""
    if not hasattr(estimator, "predict_proba"):
        raise ConfigError(
            f"imbalance.strategy=threshold: model={model_name} ({type(estimator).__name__}) "
            "gives no probabilities; pick another model or imbalance=class_weight"
        )
    return FixedThresholdClassifier(
        estimator,
        threshold=DEFAULT_THRESHOLD,
        pos_label=positive,
        response_method="predict_proba",
    )


def tune_threshold(
    truth: Sequence[Any],
    positive_proba: np.ndarray,
    classes: Sequence[Any],
    positive: str,
    metric_name: str,
) -> tuple[float, float]:
    """The threshold that maximises ``metric_name`` (a metric of predicted classes) when
    ``positive`` is predicted at ``positive_proba >= threshold``, and the score it reaches.
    Ties go to the threshold closest to 0.5, the model's own."""
    metric = metric_for("classification", metric_name, "imbalance.metric")
    (negative,) = [label for label in classes if str(label) != positive]
    positive_label = next(label for label in classes if str(label) == positive)
    y_true = np.asarray(truth, dtype=object)
    candidates = np.unique(
        np.append(np.quantile(positive_proba, np.linspace(0, 1, CANDIDATES)), DEFAULT_THRESHOLD)
    )
    best: tuple[float, float] | None = None
    for threshold in sorted(candidates, key=lambda value: abs(value - DEFAULT_THRESHOLD)):
        predicted = np.where(positive_proba >= threshold, positive_label, negative)
        score = metric.function(Outcome(y_true, predicted.astype(object)))
        if not np.isfinite(score):
            continue
        if best is None or metric.improvement(score, best[1]) > 0:
            best = (float(threshold), float(score))
    if best is None:
        raise ValueError(f"imbalance.metric={metric_name} is undefined on the validation split")
    return best
