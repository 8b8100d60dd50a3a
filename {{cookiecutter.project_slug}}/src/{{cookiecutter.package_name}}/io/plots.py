"""Evaluation figures as PNG files, for MLflow and `dvc plots`.

Uses matplotlib's object API (no pyplot), so no display or GUI backend is ever involved.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay

from .files import atomic_path


def confusion_matrix_png(y_true: Sequence[object], y_pred: Sequence[object], path: Path) -> Path:
    figure = Figure(figsize=(6, 5))
    axis = figure.subplots()
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, ax=axis, colorbar=False)
    axis.set_title("Confusion matrix (test split)")
    return _save(figure, path)


def residuals_png(y_true: np.ndarray, y_pred: np.ndarray, path: Path) -> Path:
    figure = Figure(figsize=(6, 5))
    axis = figure.subplots()
    axis.scatter(y_pred, y_true - y_pred, s=12, alpha=0.7)
    axis.axhline(0.0, color="grey", linewidth=1)
    axis.set_xlabel("predicted")
    axis.set_ylabel("actual - predicted")
    axis.set_title("Residuals (test split)")
    return _save(figure, path)


def importance_png(importance: pd.DataFrame, path: Path) -> Path:
    """Horizontal bars of permutation importance, most important on top."""
    ordered = importance.sort_values("importance")
    figure = Figure(figsize=(6, max(2.5, 0.4 * len(ordered))))
    axis = figure.subplots()
    axis.barh(ordered["feature"], ordered["importance"], xerr=ordered["std"])
    axis.set_xlabel("drop in score when the feature is shuffled")
    axis.set_title("Permutation importance (test split)")
    return _save(figure, path)


def explanations_png(summary: pd.DataFrame, output: str, path: Path) -> Path:
    """Horizontal bars of the mean absolute contribution per column, largest on top."""
    ordered = summary.sort_values("mean_abs_contribution")
    figure = Figure(figsize=(6, max(2.5, 0.4 * len(ordered))))
    axis = figure.subplots()
    axis.barh(ordered["column"], ordered["mean_abs_contribution"])
    axis.set_xlabel(f"mean |contribution| to {output}")
    axis.set_title("Explanations (test split)")
    return _save(figure, path)


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    with atomic_path(path) as temporary:  # the format from the real name, not the temporary's
        figure.savefig(temporary, dpi=100, format=path.suffix.lstrip("."))
    return path
