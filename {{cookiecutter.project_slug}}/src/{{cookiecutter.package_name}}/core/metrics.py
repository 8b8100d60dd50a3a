"""Model quality metrics, overall and per slice; pure functions of labels and predictions."""

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from .config import Task

MISSING = "<missing>"  # the slice of rows where a slice column has no value
HIGHER_IS_BETTER = {
    "accuracy": True,
    "f1_macro": True,
    "roc_auc_ovr": True,
    "log_loss": False,
    "rmse": False,
    "mae": False,
    "r2": True,
}


def classification_metrics(
    y_true: Sequence[object], y_pred: Sequence[object], proba: np.ndarray, classes: Sequence[object]
) -> dict[str, float]:
    """Accuracy, macro F1, one-vs-rest ROC AUC and log loss (NaN when undefined)."""
    labels = list(classes)
    present = set(pd.unique(np.asarray(y_true)).tolist())
    result = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "f1_macro": float(
            skm.f1_score(
                y_true, y_pred, average="macro", labels=sorted(present, key=str), zero_division=0
            )
        ),
        "log_loss": float(skm.log_loss(y_true, proba, labels=labels)),
        "roc_auc_ovr": math.nan,
    }
    if len(present) == len(labels) and len(labels) > 1:
        scores = proba[:, 1] if len(labels) == 2 else proba
        result["roc_auc_ovr"] = float(
            skm.roc_auc_score(y_true, scores, multi_class="ovr", labels=labels)
        )
    return result


def regression_metrics(y_true: Sequence[float], y_pred: Sequence[float]) -> dict[str, float]:
    """RMSE, MAE and R2 (R2 is NaN for fewer than two rows)."""
    return {
        "rmse": float(math.sqrt(skm.mean_squared_error(y_true, y_pred))),
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
        "r2": float(skm.r2_score(y_true, y_pred)) if len(y_true) > 1 else math.nan,
    }


def compute_metrics(
    task: Task,
    y_true: Sequence[object],
    y_pred: Sequence[object],
    proba: np.ndarray | None = None,
    classes: Sequence[object] = (),
) -> dict[str, float]:
    if task == "classification":
        if proba is None:
            raise ValueError("classification metrics need predicted probabilities")
        return classification_metrics(y_true, y_pred, proba, classes)
    return regression_metrics(
        [float(value) for value in y_true],  # type: ignore[arg-type]
        [float(value) for value in y_pred],  # type: ignore[arg-type]
    )


def slice_metrics(
    task: Task,
    *,
    frame: pd.DataFrame,
    slice_columns: Sequence[str],
    y_true: pd.Series,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    classes: Sequence[object],
    min_rows: int,
) -> list[dict[str, object]]:
    """One row per (column, value): its size and metrics; slices under ``min_rows`` are skipped.

    This is the error-analysis table: a model that is good on average can still fail one group.
    Each column is factorised once, so a slice is an integer comparison, not a string one.
    """
    rows: list[dict[str, object]] = []
    truth = y_true.to_numpy()
    for column in slice_columns:
        codes, uniques = pd.factorize(frame[column].astype("string").fillna(MISSING))
        for code, value in sorted(enumerate(uniques.tolist()), key=lambda pair: pair[1]):
            mask = codes == code
            if mask.sum() < min_rows:
                continue
            metrics = compute_metrics(
                task, truth[mask], y_pred[mask], None if proba is None else proba[mask], classes
            )
            rows.append(
                {
                    "column": column,
                    "value": value,
                    "rows": int(mask.sum()),
                    **finite_or_none(metrics),
                }
            )
    return rows


def finite_or_none(metrics: dict[str, float]) -> dict[str, float | None]:
    """JSON has no NaN: undefined metrics become null."""
    return {name: (value if math.isfinite(value) else None) for name, value in metrics.items()}
