"""The metric registry: every model-quality metric is declared once, in ``METRICS``.

Config validation (``release.primary_metric``, ``monitor.performance.metric``,
``evaluate.scoring``), `evaluate` (test metrics, slices, permutation importance, cross-validation),
the release gate (its rules and paired bootstrap), the model card and monitoring all read it.
Adding a metric is one `Metric` in ``METRICS`` (and a test); nothing else changes.
"""

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .task import Task

MISSING = "<missing>"  # the slice of rows where a slice column has no value


@dataclass(frozen=True)
class Outcome:
    """What a metric is computed from: the truth, the predictions and, for a classifier, the
    class probabilities with their classes in column order."""

    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None = None
    classes: tuple[object, ...] = ()

    def take(self, rows: np.ndarray) -> "Outcome":
        """The same outcome on a subset (or a resample) of its rows."""
        proba = None if self.proba is None else self.proba[rows]
        return Outcome(self.y_true[rows], self.y_pred[rows], proba, self.classes)


@dataclass(frozen=True)
class Metric:
    """One metric. ``function`` returns NaN where the metric is undefined, and must be cheap:
    the paired bootstrap calls it thousands of times and permutation importance once per
    feature and shuffle."""

    name: str
    task: Task
    function: Callable[[Outcome], float]
    greater_is_better: bool
    needs_probabilities: bool = False

    def improvement(self, new: float, old: float) -> float:
        """How much better ``new`` is than ``old``: positive when better, whatever the direction."""
        return new - old if self.greater_is_better else old - new


def _codes(outcome: Outcome) -> tuple[np.ndarray, np.ndarray, int]:
    """Truth and predictions as integer codes of one shared factorisation, and the code count.

    A bijection, so every label metric is unchanged; numpy counts integers far faster than
    scikit-learn checks strings (most of the time of permutation importance and the bootstrap).
    """
    labels = np.concatenate([outcome.y_true, outcome.y_pred])
    codes, uniques = pd.factorize(labels, use_na_sentinel=False)
    size = len(outcome.y_true)
    return codes[:size], codes[size:], len(uniques)


def accuracy(outcome: Outcome) -> float:
    truth, predicted, _ = _codes(outcome)
    return float(np.mean(truth == predicted))


def f1_macro(outcome: Outcome) -> float:
    """Mean F1 over the classes present in the truth (scikit-learn's ``f1_score`` with those
    ``labels`` and ``zero_division=0``): F1 of a class is 2 hits / (true + predicted rows)."""
    truth, predicted, size = _codes(outcome)
    hits = np.bincount(truth[truth == predicted], minlength=size)
    true_rows = np.bincount(truth, minlength=size)
    predicted_rows = np.bincount(predicted, minlength=size)
    present = true_rows > 0
    return float(np.mean(2 * hits[present] / (true_rows[present] + predicted_rows[present])))


# scikit-learn is imported where a metric needs it, not with this module: config validation
# imports the registry, and commands that compute no metric (register, promote, history) should
# not pay scikit-learn's start-up (about a second) for it.


def log_loss(outcome: Outcome) -> float:
    from sklearn import metrics as skm

    return float(skm.log_loss(outcome.y_true, outcome.proba, labels=list(outcome.classes)))


def roc_auc_ovr(outcome: Outcome) -> float:
    """One-vs-rest ROC AUC; NaN unless every class the model knows appears in the truth."""
    from sklearn import metrics as skm

    classes, proba = list(outcome.classes), outcome.proba
    if proba is None or len(classes) < 2 or len(pd.unique(outcome.y_true)) != len(classes):
        return math.nan
    scores = proba[:, 1] if len(classes) == 2 else proba
    return float(skm.roc_auc_score(outcome.y_true, scores, multi_class="ovr", labels=classes))


def _errors(outcome: Outcome) -> np.ndarray:
    errors: np.ndarray = outcome.y_true.astype(float) - outcome.y_pred.astype(float)
    return errors


def rmse(outcome: Outcome) -> float:
    return float(math.sqrt(np.mean(_errors(outcome) ** 2)))


def mae(outcome: Outcome) -> float:
    return float(np.mean(np.abs(_errors(outcome))))


def r2(outcome: Outcome) -> float:
    """Coefficient of determination; NaN for fewer than two rows."""
    from sklearn import metrics as skm

    if len(outcome.y_true) < 2:
        return math.nan
    return float(skm.r2_score(outcome.y_true.astype(float), outcome.y_pred.astype(float)))


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("accuracy", "classification", accuracy, greater_is_better=True),
        Metric("f1_macro", "classification", f1_macro, greater_is_better=True),
        Metric(
            "log_loss",
            "classification",
            log_loss,
            greater_is_better=False,
            needs_probabilities=True,
        ),
        Metric(
            "roc_auc_ovr",
            "classification",
            roc_auc_ovr,
            greater_is_better=True,
            needs_probabilities=True,
        ),
        Metric("rmse", "regression", rmse, greater_is_better=False),
        Metric("mae", "regression", mae, greater_is_better=False),
        Metric("r2", "regression", r2, greater_is_better=True),
    )
}


def metrics_for(task: Task) -> list[Metric]:
    """The task's metrics, in declaration order (the order of every report)."""
    return [metric for metric in METRICS.values() if metric.task == task]


def registered_metric(name: str) -> str:
    """``name`` when the registry has it, else an error listing the registered metrics."""
    if name not in METRICS:
        raise ValueError(
            f"{name!r} is not a registered metric; registered: {', '.join(METRICS)} "
            "(core/metrics.py)"
        )
    return name


def metric_for(task: Task, name: str, key: str) -> Metric:
    """The metric ``name`` of ``task``; a clear error naming the config ``key`` and the choices."""
    found = METRICS.get(name)
    if found is None or found.task != task:
        valid = ", ".join(metric.name for metric in metrics_for(task))
        raise ValueError(
            f"{key}={name!r} is not a {task} metric; use one of: {valid} "
            "(the registry in core/metrics.py)"
        )
    return found


def outcome_of(
    task: Task,
    y_true: ArrayLike,
    y_pred: ArrayLike,
    proba: np.ndarray | None = None,
    classes: Iterable[object] = (),
) -> Outcome:
    """An `Outcome` with the types its task's metrics expect (numbers for a regression)."""
    dtype = float if task == "regression" else None
    return Outcome(np.asarray(y_true, dtype), np.asarray(y_pred, dtype), proba, tuple(classes))


def compute(task: Task, outcome: Outcome) -> dict[str, float]:
    """Every metric of ``task`` (NaN where undefined)."""
    if outcome.proba is None and any(m.needs_probabilities for m in metrics_for(task)):
        raise ValueError(f"{task} metrics need predicted probabilities")
    return {metric.name: metric.function(outcome) for metric in metrics_for(task)}


def compute_metrics(
    task: Task,
    y_true: ArrayLike,
    y_pred: ArrayLike,
    proba: np.ndarray | None = None,
    classes: Iterable[object] = (),
) -> dict[str, float]:
    """Every metric of ``task`` from labels (or values), predictions and class probabilities."""
    return compute(task, outcome_of(task, y_true, y_pred, proba, classes))


def scorer(metric: Metric) -> Callable[[Any, pd.DataFrame, Any], float]:
    """``metric`` as a scikit-learn scorer ``(estimator, X, y) -> score``, greater is better.

    Permutation importance and cross-validation use it, so they measure exactly what the
    reports do; a lower-is-better metric is negated, as scikit-learn's ``neg_*`` scorers are.
    """
    sign = 1.0 if metric.greater_is_better else -1.0

    def score(estimator: Any, features: pd.DataFrame, target: Any) -> float:
        proba = estimator.predict_proba(features) if metric.needs_probabilities else None
        outcome = outcome_of(
            metric.task,
            np.asarray(target),
            np.asarray(estimator.predict(features)),
            proba,
            getattr(estimator, "classes_", ()),
        )
        return sign * metric.function(outcome)

    return score


def slice_metrics(
    task: Task,
    outcome: Outcome,
    *,
    frame: pd.DataFrame,
    slice_columns: Sequence[str],
    min_rows: int,
) -> list[dict[str, object]]:
    """One row per (column, value) of ``frame`` (the rows of ``outcome``, in order): its size
    and metrics; slices under ``min_rows`` are skipped.

    This is the error-analysis table: a model that is good on average can still fail one group.
    Each column is factorised once, so a slice is an integer comparison, not a string one.
    """
    rows: list[dict[str, object]] = []
    for column in slice_columns:
        codes, uniques = pd.factorize(frame[column].astype("string").fillna(MISSING))
        for code, value in sorted(enumerate(uniques.tolist()), key=lambda pair: pair[1]):
            mask = codes == code
            if mask.sum() < min_rows:
                continue
            metrics = compute(task, outcome.take(mask))
            rows.append(
                {
                    "column": column,
                    "value": value,
                    "rows": int(mask.sum()),
                    **finite_or_none(metrics),
                }
            )
    return rows


@overload
def finite_or_none(value: Mapping[str, float | None]) -> dict[str, float | None]: ...
@overload
def finite_or_none(value: float | None) -> float | None: ...
@overload
def finite_or_none(value: object) -> Any: ...
def finite_or_none(value: object) -> Any:
    """JSON has no NaN or infinity: undefined numbers become null, inside dicts and lists too."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(item) for item in value]
    return value
