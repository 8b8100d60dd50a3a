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
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline

from ..core.config import Config
from ..core.measure import measure
from ..core.metrics import METRICS, finite_or_none, scorer
from ..core.models import build_pipeline, features_and_target, predict_with_proba
from ..io import paths, plots, tracking
from ..io.files import read_json, read_table, write_json, write_table


def importance_table(
    pipeline: Pipeline, features: pd.DataFrame, target: pd.Series, config: Config
) -> pd.DataFrame:
    """Permutation importance per input column, scored with ``evaluate.scoring``: how much
    worse the metric gets when a column is shuffled; model-agnostic and in the user's terms."""
    result = permutation_importance(
        pipeline,
        features,
        target,
        scoring=scorer(METRICS[config.evaluate.scoring]),
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
    """k-fold ``evaluate.scoring`` of a fresh pipeline on train+valid (``cv_folds: 0``: off)."""
    features, target = features_and_target(frame, config)
    folds = config.evaluate.cv_folds
    splitter = (
        StratifiedKFold(folds, shuffle=True, random_state=config.seed)
        if config.data.task == "classification"
        else KFold(folds, shuffle=True, random_state=config.seed)
    )
    metric = METRICS[config.evaluate.scoring]
    scores = cross_validate(
        build_pipeline(config), features, target, cv=splitter, scoring=scorer(metric)
    )
    # The scorer negates a lower-is-better metric; report the metric itself.
    values = scores["test_score"] * (1.0 if metric.greater_is_better else -1.0)
    return {
        f"{metric.name}.mean": float(np.mean(values)),
        f"{metric.name}.std": float(np.std(values)),
    }


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
    train_run = read_json(paths.TRAIN_RUN)
    pipeline: Pipeline = joblib.load(paths.MODEL)
    test = read_table(paths.TEST)
    measured = measure(pipeline, test, config)
    overall, slices = finite_or_none(measured.metrics), measured.slices
    metrics: dict[str, Any] = {"test": overall, "rows": len(test)}
    if config.evaluate.cv_folds:
        train_valid = pd.concat([read_table(paths.TRAIN), read_table(paths.VALID)])
        metrics["cv"] = cross_validation(config, train_valid)

    importance = importance_table(pipeline, *features_and_target(test, config), config)
    paths.PLOTS_DIR.mkdir(parents=True, exist_ok=True)
    actual, predicted = measured.outcome.y_true, measured.outcome.y_pred
    write_table(pd.DataFrame({"actual": actual, "predicted": predicted}), paths.PREDICTIONS_PLOT)
    write_table(importance, paths.IMPORTANCE_PLOT)
    figures = [plots.importance_png(importance, paths.PLOTS_DIR / "importance.png")]
    figure = paths.PLOTS_DIR / config.evaluate.plot.figure  # what dvc.yaml shows
    if config.data.task == "classification":
        figures.append(plots.confusion_matrix_png(list(actual), list(predicted), figure))
    else:
        figures.append(plots.residuals_png(actual, predicted, figure))

    write_json(metrics, paths.METRICS)
    write_json(slices, paths.SLICES)
    write_table(score_reference(pipeline, config), paths.SCORED_REFERENCE)

    with tracking.resume_run(config.mlflow, train_run["run_id"]):
        tracking.log_metrics(overall, "test")
        tracking.log_metrics(metrics.get("cv", {}), "cv")
        for row in slices:
            values = {k: v for k, v in row.items() if k not in ("column", "value", "rows")}
            tracking.log_metrics(values, f"test.slice.{row['column']}.{row['value']}")  # type: ignore[arg-type]
        # The reference and baseline travel with the model: `monitor` judges a version's
        # traffic against its own evaluation, wherever the workspace is.
        evaluation = [paths.METRICS, paths.SLICES, paths.SCORED_REFERENCE, *figures]
        tracking.log_artifacts(evaluation, tracking.EVALUATION_DIR)
    print(f"evaluated on {len(test)} test rows: {overall}")
    return metrics
