"""metrics: hand-computed values, and the per-slice error analysis."""

import math

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.metrics import (
    HIGHER_IS_BETTER,
    compute_metrics,
    finite_or_none,
    slice_metrics,
)

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
    assert set(result) <= set(HIGHER_IS_BETTER)


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
    assert set(result) <= set(HIGHER_IS_BETTER)


def test_regression_r2_is_nan_for_one_row() -> None:
    result = compute_metrics("regression", [2.0], [3.0])
    assert result["mae"] == pytest.approx(1.0)
    assert math.isnan(result["r2"])


def test_finite_or_none() -> None:
    assert finite_or_none({"a": 1.5, "b": math.nan, "c": math.inf}) == {
        "a": 1.5,
        "b": None,
        "c": None,
    }


def classification_slices(frame: pd.DataFrame, min_rows: int) -> list[dict[str, object]]:
    return slice_metrics(
        "classification",
        frame=frame,
        slice_columns=list(frame.columns),
        y_true=pd.Series(Y_TRUE),
        y_pred=np.array(Y_PRED),
        proba=PROBA,
        classes=CLASSES,
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
        frame=pd.DataFrame({"shop": [1, 1, 1, 2]}),  # slice values are reported as text
        slice_columns=["shop"],
        y_true=pd.Series([1.0, 2.0, 3.0, 4.0]),
        y_pred=np.array([1.0, 2.0, 4.0, 6.0]),
        proba=None,
        classes=(),
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
