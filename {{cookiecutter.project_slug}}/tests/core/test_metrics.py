"""metrics: the registry, hand-computed values, and the per-slice error analysis."""

import math
from typing import get_args

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from {{ cookiecutter.package_name }}.core.metrics import (
    METRICS,
    Outcome,
    compute_metrics,
    finite_or_none,
    metric_for,
    metrics_for,
    outcome_of,
    registered_metric,
    scorer,
    slice_metrics,
)
from {{ cookiecutter.package_name }}.core.task import Task

Y_TRUE = ["a", "a", "b", "b"]
Y_PRED = ["a", "b", "b", "b"]
PROBA = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7]])
CLASSES = ["a", "b"]


def test_classification_metrics_by_hand() -> None:
    result = compute_metrics("classification", Y_TRUE, Y_PRED, PROBA, CLASSES)
    assert result["accuracy"] == pytest.approx(3 / 4)
    # a: precision 1, recall 1/2 -> F1 2/3; b: precision 2/3, recall 1 -> F1 4/5
    assert result["f1_macro"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    # mean negative log of the probability given to the true class
    assert result["log_loss"] == pytest.approx(
        -(math.log(0.9) + math.log(0.4) + math.log(0.8) + math.log(0.7)) / 4
    )
    assert result["roc_auc_ovr"] == pytest.approx(1.0)  # every b scores above every a
    assert list(result) == [metric.name for metric in metrics_for("classification")]


def test_multiclass_metrics_by_hand() -> None:
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.5, 0.25, 0.25]])
    result = compute_metrics(
        "classification", ["a", "b", "c", "c"], ["a", "b", "c", "a"], proba, ["a", "b", "c"]
    )
    assert result["accuracy"] == pytest.approx(3 / 4)
    assert result["log_loss"] == pytest.approx(-(3 * math.log(0.8) + math.log(0.25)) / 4)
    # F1: a 2/3 (precision 1/2), b 1, c 2/3 (recall 1/2)
    assert result["f1_macro"] == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)
    assert result["roc_auc_ovr"] == pytest.approx(1.0)  # each class ranks its rows first


def test_roc_auc_is_nan_when_a_class_is_absent() -> None:
    result = compute_metrics("classification", ["a", "a"], ["a", "b"], PROBA[:2], CLASSES)
    assert result["accuracy"] == pytest.approx(1 / 2)
    assert result["f1_macro"] == pytest.approx(2 / 3)  # only the classes present count
    assert math.isnan(result["roc_auc_ovr"])


def test_classification_needs_probabilities() -> None:
    with pytest.raises(ValueError, match="probabilities"):
        compute_metrics("classification", Y_TRUE, Y_PRED)


def test_regression_metrics_by_hand() -> None:
    result = compute_metrics("regression", [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 6.0])
    assert result["mae"] == pytest.approx(2 / 4)
    assert result["rmse"] == pytest.approx(math.sqrt(4 / 4))
    # 1 - SSE / SST = 1 - 4 / (2.25 + 0.25 + 0.25 + 2.25)
    assert result["r2"] == pytest.approx(0.2)
    assert list(result) == [metric.name for metric in metrics_for("regression")]


def test_regression_r2_is_nan_for_one_row() -> None:
    result = compute_metrics("regression", [2.0], [3.0])
    assert result["mae"] == pytest.approx(1.0)
    assert math.isnan(result["r2"])


def test_finite_or_none() -> None:
    assert finite_or_none({"a": 1.5, "b": math.nan, "c": math.inf, "d": None}) == {
        "a": 1.5,
        "b": None,
        "c": None,
        "d": None,
    }
    assert finite_or_none(math.nan) is None
    assert finite_or_none({"x": [1.0, math.nan, {"y": -math.inf}], "n": 3, "s": "t"}) == {
        "x": [1.0, None, {"y": None}],
        "n": 3,
        "s": "t",
    }


# --- The registry: one declaration per metric, read by config, evaluate, gate, card, monitoring.


def test_every_task_has_metrics_and_every_metric_a_task() -> None:
    for task in get_args(Task):
        assert metrics_for(task), task
    assert {metric.task for metric in METRICS.values()} <= set(get_args(Task))
    assert all(name == metric.name for name, metric in METRICS.items())


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_metric_gives_a_float_on_small_data(name: str) -> None:
    metric = METRICS[name]
    if metric.task == "classification":
        outcome = Outcome(np.array(Y_TRUE), np.array(Y_PRED), PROBA, tuple(CLASSES))
    else:
        outcome = Outcome(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.0]))
    assert isinstance(metric.function(outcome), float)


def test_improvement_follows_the_direction() -> None:
    assert METRICS["accuracy"].improvement(0.9, 0.8) == pytest.approx(0.1)
    assert METRICS["rmse"].improvement(90.0, 100.0) == pytest.approx(10.0)
    assert METRICS["log_loss"].improvement(0.7, 0.5) == pytest.approx(-0.2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_label_metrics_equal_scikit_learns(seed: int) -> None:
    """The fast numpy versions give scikit-learn's values (macro F1 over the true classes)."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(["a", "b", "c", "never predicted"], 500)
    predicted = rng.choice(["a", "b", "c", "never true"], 500).astype(object)
    outcome = Outcome(truth, predicted)
    present = sorted(set(truth))
    f1 = skm.f1_score(truth, predicted, average="macro", labels=present, zero_division=0)
    assert METRICS["f1_macro"].function(outcome) == pytest.approx(f1, abs=1e-12)
    assert METRICS["accuracy"].function(outcome) == pytest.approx(
        skm.accuracy_score(truth, predicted)
    )
    values, estimates = rng.normal(0, 1, 300), rng.normal(0, 1, 300)
    numbers = Outcome(values, estimates)
    assert METRICS["rmse"].function(numbers) == pytest.approx(
        skm.root_mean_squared_error(values, estimates)
    )
    assert METRICS["mae"].function(numbers) == pytest.approx(
        skm.mean_absolute_error(values, estimates)
    )
    assert METRICS["r2"].function(numbers) == pytest.approx(skm.r2_score(values, estimates))


def test_metric_for_names_the_key_and_the_task_metrics() -> None:
    assert metric_for("regression", "mae", "release.primary_metric").name == "mae"
    with pytest.raises(ValueError, match=r"primary_metric='rmse' is not a classification") as error:
        metric_for("classification", "rmse", "release.primary_metric")
    assert "accuracy, f1_macro, log_loss, roc_auc_ovr" in str(error.value)


def test_registered_metric_lists_the_registry() -> None:
    assert registered_metric("r2") == "r2"
    with pytest.raises(ValueError, match="'acuracy' is not a registered metric") as error:
        registered_metric("acuracy")
    assert all(name in str(error.value) for name in METRICS)


class Fixed:
    """An estimator that predicts given labels and probabilities, whatever the features."""

    def __init__(self, predictions: np.ndarray, proba: np.ndarray | None = None) -> None:
        self.predictions, self.proba = predictions, proba
        self.classes_ = np.array(CLASSES)

    def predict(self, features: object) -> np.ndarray:
        return self.predictions

    def predict_proba(self, features: object) -> np.ndarray | None:
        return self.proba


def test_scorer_is_the_metric_and_greater_is_better() -> None:
    features = pd.DataFrame(index=range(4))
    assert scorer(METRICS["accuracy"])(Fixed(np.array(Y_PRED)), features, pd.Series(Y_TRUE)) == 0.75
    values, estimates = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 6.0])
    assert scorer(METRICS["rmse"])(Fixed(estimates), features, values) == pytest.approx(-1.0)
    log_loss = scorer(METRICS["log_loss"])(Fixed(np.array(Y_PRED), PROBA), features, Y_TRUE)
    assert log_loss == pytest.approx(
        -compute_metrics("classification", Y_TRUE, Y_PRED, PROBA, CLASSES)["log_loss"]
    )


def test_regression_outcome_holds_numbers() -> None:
    outcome = outcome_of("regression", ["1", 2], pd.Series([1.5, 2.5]))
    assert outcome.y_true.dtype == float and outcome.y_pred.dtype == float


def classification_slices(frame: pd.DataFrame, min_rows: int) -> list[dict[str, object]]:
    return slice_metrics(
        "classification",
        outcome_of("classification", Y_TRUE, Y_PRED, PROBA, CLASSES),
        frame=frame,
        slice_columns=list(frame.columns),
        min_rows=min_rows,
    )


def test_slice_metrics_skip_small_slices() -> None:
    frame = pd.DataFrame({"shop": ["x", "x", "x", "y"], "kind": ["k", "k", "k", "k"]})
    rows = classification_slices(frame, min_rows=2)
    assert [(row["column"], row["value"], row["rows"]) for row in rows] == [
        ("shop", "x", 3),
        ("kind", "k", 4),
    ]
    assert rows[0]["accuracy"] == pytest.approx(2 / 3)
    assert rows[1]["accuracy"] == pytest.approx(3 / 4)


def test_slice_metrics_give_none_for_undefined_metrics() -> None:
    rows = classification_slices(pd.DataFrame({"shop": ["x", "x", "y", "y"]}), min_rows=1)
    assert [row["value"] for row in rows] == ["x", "y"]
    assert all(row["roc_auc_ovr"] is None for row in rows)  # one class per slice
    assert rows[1]["accuracy"] == pytest.approx(1.0)


def test_regression_slice_metrics() -> None:
    rows = slice_metrics(
        "regression",
        outcome_of("regression", [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 4.0, 6.0]),
        frame=pd.DataFrame({"shop": [1, 1, 1, 2]}),  # slice values are reported as text
        slice_columns=["shop"],
        min_rows=1,
    )
    assert [(row["value"], row["rows"]) for row in rows] == [("1", 3), ("2", 1)]
    assert rows[0]["mae"] == pytest.approx(1 / 3)
    assert rows[1]["mae"] == pytest.approx(2.0)
    assert rows[1]["r2"] is None  # undefined for one row


def test_missing_slice_values_form_their_own_slice() -> None:
    frame = pd.DataFrame({"shop": ["x", None, "x", None]})
    rows = classification_slices(frame, min_rows=1)
    assert sorted(row["value"] for row in rows) == ["<missing>", "x"]
