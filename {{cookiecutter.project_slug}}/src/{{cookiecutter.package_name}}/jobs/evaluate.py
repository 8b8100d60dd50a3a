"""The `evaluate` stage: the trained pipeline on the held-out test split.

Writes overall metrics (`reports/metrics.json`, DVC metrics), the per-slice error-analysis
table, plots for `dvc plots` and MLflow, and scores the reference snapshot that monitoring
compares production traffic with. Everything is also logged to the training run in MLflow.
"""

from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline

from ..core.config import Config, Task
from ..core.metrics import compute_metrics, finite_or_none, slice_metrics
from ..core.models import build_pipeline, features_and_target, predict_with_proba
from ..io import paths, plots, tracking
from ..io.files import read_json, read_table, write_json, write_table


def f1_macro(estimator: Any, features: pd.DataFrame, target: pd.Series) -> float:
    """scikit-learn's ``f1_macro`` scorer, computed on integer codes of the labels.

    Both label sets are factorised together (a bijection, so the score is the same), and
    scikit-learn's label checks are 5-10x faster on integers than on strings: this is most of
    the time of permutation importance, which scores the model once per feature and shuffle.
    """
    truth = np.asarray(target)
    codes, _ = pd.factorize(np.concatenate([truth, np.asarray(estimator.predict(features))]))
    return float(f1_score(codes[: len(truth)], codes[len(truth) :], average="macro"))


SCORING = {"classification": "f1_macro", "regression": "neg_root_mean_squared_error"}


def scorer(task: Task) -> Any:
    """The scikit-learn scorer named in ``SCORING``: ``f1_macro`` as its faster equal."""
    name = SCORING[task]
    return f1_macro if name == "f1_macro" else name


def importance_table(
    pipeline: Pipeline, features: pd.DataFrame, target: pd.Series, config: Config
) -> pd.DataFrame:
    """Permutation importance per input column: model-agnostic and in the user's own terms."""
    result = permutation_importance(
        pipeline,
        features,
        target,
        scoring=scorer(config.data.task),
        n_repeats=config.evaluate.importance_repeats,
        random_state=config.seed,
    )
    return pd.DataFrame(
        {
            "feature": list(features.columns),
            "importance": result.importances_mean,
            "std": result.importances_std,
        }
    ).sort_values("importance", ascending=False)


def cross_validation(config: Config, frame: pd.DataFrame) -> dict[str, float]:
    """k-fold scores of a fresh pipeline on train+valid (``evaluate.cv_folds: 0`` disables)."""
    features, target = features_and_target(frame, config)
    folds = config.evaluate.cv_folds
    splitter = (
        StratifiedKFold(folds, shuffle=True, random_state=config.seed)
        if config.data.task == "classification"
        else KFold(folds, shuffle=True, random_state=config.seed)
    )
    task = config.data.task
    scores = cross_validate(
        build_pipeline(config), features, target, cv=splitter, scoring=scorer(task)
    )
    values, name = scores["test_score"], SCORING[task]
    return {f"{name}.mean": float(np.mean(values)), f"{name}.std": float(np.std(values))}


def score_reference(pipeline: Pipeline, config: Config) -> pd.DataFrame:
    """The reference snapshot with the model's predictions (and class probabilities)."""
    reference = read_table(paths.REFERENCE)
    features, _ = features_and_target(reference, config)
    predictions, proba = predict_with_proba(pipeline, features)
    scored = reference.assign(prediction=predictions)
    if proba is not None:
        for index, label in enumerate(pipeline.classes_):
            scored[f"proba_{label}"] = proba[:, index]
    return scored


def run(config: Config) -> dict[str, Any]:
    pipeline: Pipeline = joblib.load(paths.MODEL)
    train_run = read_json(paths.TRAIN_RUN)
    test = read_table(paths.TEST)
    features, target = features_and_target(test, config)
    predictions, proba = predict_with_proba(pipeline, features)
    classes = list(getattr(pipeline, "classes_", []))
    task = config.data.task

    overall = finite_or_none(
        compute_metrics(task, target.tolist(), list(predictions), proba, classes)
    )
    slices = slice_metrics(
        task,
        frame=test,
        slice_columns=config.data.slice_columns,
        y_true=target,
        y_pred=predictions,
        proba=proba,
        classes=classes,
        min_rows=config.evaluate.min_slice_rows,
    )
    metrics: dict[str, Any] = {"test": overall, "rows": len(test)}
    if config.evaluate.cv_folds:
        train_valid = pd.concat([read_table(paths.TRAIN), read_table(paths.VALID)])
        metrics["cv"] = cross_validation(config, train_valid)

    importance = importance_table(pipeline, features, target, config)
    paths.PLOTS_DIR.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"actual": target.to_numpy(), "predicted": predictions}).to_csv(
        paths.PREDICTIONS_PLOT, index=False
    )
    importance.to_csv(paths.IMPORTANCE_PLOT, index=False)
    figures = [plots.importance_png(importance, paths.PLOTS_DIR / "importance.png")]
    if task == "classification":
        figures.append(
            plots.confusion_matrix_png(
                target.tolist(), list(predictions), paths.PLOTS_DIR / "confusion_matrix.png"
            )
        )
    else:
        figures.append(
            plots.residuals_png(
                target.to_numpy(float),
                np.asarray(predictions, float),
                paths.PLOTS_DIR / "residuals.png",
            )
        )

    write_json(metrics, paths.METRICS)
    write_json(slices, paths.SLICES)
    write_table(score_reference(pipeline, config), paths.SCORED_REFERENCE)

    with tracking.resume_run(config.mlflow, train_run["run_id"]):
        tracking.log_metrics(overall, "test")
        tracking.log_metrics(metrics.get("cv", {}), "cv")
        for row in slices:
            values = {k: v for k, v in row.items() if k not in ("column", "value", "rows")}
            tracking.log_metrics(values, f"test.slice.{row['column']}.{row['value']}")  # type: ignore[arg-type]
        tracking.log_artifacts([paths.METRICS, paths.SLICES, *figures], "evaluation")
    print(f"evaluated on {len(test)} test rows: {overall}")
    return metrics
