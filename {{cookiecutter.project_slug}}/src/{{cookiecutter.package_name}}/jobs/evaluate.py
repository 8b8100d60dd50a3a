"""The `evaluate` stage: the trained pipeline on the held-out test split.

Writes overall metrics next to the trivial baseline's (`reports/metrics.json`, DVC metrics),
the per-slice error-analysis table, fairness across the sensitive attributes
(`reports/fairness.json`), plots for `dvc plots` and MLflow, and scores the reference snapshot
that monitoring compares production traffic with. Everything is also logged to the training
run in MLflow.
"""

from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline

from ..core import baseline, fairness
from ..core.config import Config
from ..core.explanations import SUMMARY_ROWS, Explainer, background_sample, described
from ..core.measure import Measured, measure
from ..core.metrics import METRICS, MISSING, finite_or_none, scorer
from ..core.models import build_pipeline, features_and_target, predict_with_proba
from ..core.predictor import Predictor
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


def explanation_summary(pipeline: Pipeline, test: pd.DataFrame, config: Config) -> list[Path]:
    """The local explanations summed up: mean |contribution| per input column over (a seeded
    sample of) the test split, against the background rows the API explains with."""
    columns = config.data.feature_columns
    predictor = Predictor(pipeline, {name: config.data.columns[name] for name in columns})
    explainer = Explainer(predictor, background_sample(read_table(paths.REFERENCE), columns))
    rows = test.sample(n=min(len(test), SUMMARY_ROWS), random_state=config.seed)
    summary = explainer.explain(rows[columns]).summary()
    write_table(summary, paths.EXPLANATIONS_PLOT)
    figure = paths.PLOTS_DIR / "explanations.png"
    output = described(config.data.task, config.data.target)
    return [paths.EXPLANATIONS_PLOT, plots.explanations_png(summary, output, figure)]


def baseline_metrics(test: pd.DataFrame, config: Config) -> dict[str, float | None]:
    """The trivial baseline (``evaluate.baseline``, fitted on the training split) on the test
    rows: what the model's metrics mean only next to."""
    train = read_table(paths.TRAIN)
    dummy = baseline.fit(
        config.data.task,
        config.evaluate.baseline,
        *features_and_target(train, config),
        seed=config.seed,
    )
    return finite_or_none(measure(dummy, test, config).metrics)


def fairness_report(
    measured: Measured, test: pd.DataFrame, config: Config
) -> dict[str, fairness.AttributeFairness]:
    """Group metrics and disparities of every sensitive attribute on the test rows."""
    return fairness.assess(
        config.data.task,
        measured.outcome,
        test,
        config.data.sensitive_columns,
        seed=config.seed,
        **config.evaluate.fairness.model_dump(),
    )


def run(config: Config) -> dict[str, Any]:
    train_run = read_json(paths.TRAIN_RUN)
    pipeline: Pipeline = joblib.load(paths.MODEL)
    test = read_table(paths.TEST)
    measured = measure(pipeline, test, config)
    overall, slices = finite_or_none(measured.metrics), measured.slices
    groups = fairness_report(measured, test, config)
    metrics: dict[str, Any] = {
        "test": overall,
        "rows": len(test),
        "baseline": baseline_metrics(test, config),
        "fairness": {name: finite_or_none(item.disparities) for name, item in groups.items()},
    }
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
    figures.extend(explanation_summary(pipeline, test, config))

    write_json(metrics, paths.METRICS)
    write_json(slices, paths.SLICES)
    write_json(
        {
            "rows": len(test),
            "missing_values": f"a group of their own, {MISSING}",
            **config.evaluate.fairness.model_dump(),
            "attributes": fairness.report(groups),
        },
        paths.FAIRNESS,
    )
    write_table(score_reference(pipeline, config), paths.SCORED_REFERENCE)

    with tracking.resume_run(config.mlflow, train_run["run_id"]):
        tracking.log_metrics(overall, "test")
        tracking.log_metrics(metrics.get("cv", {}), "cv")
        tracking.log_metrics(metrics["baseline"], "baseline")
        for name, disparities in metrics["fairness"].items():
            tracking.log_metrics(disparities, f"test.fairness.{name}")
        for row in slices:
            values = {k: v for k, v in row.items() if k not in ("column", "value", "rows")}
            tracking.log_metrics(values, f"test.slice.{row['column']}.{row['value']}")  # type: ignore[arg-type]
        # The reference and baseline travel with the model: `monitor` judges a version's
        # traffic against its own evaluation, wherever the workspace is.
        evaluation = [paths.METRICS, paths.SLICES, paths.FAIRNESS, paths.SCORED_REFERENCE, *figures]
        tracking.log_artifacts(evaluation, tracking.EVALUATION_DIR)
    print(f"evaluated on {len(test)} test rows: {overall}; baseline: {metrics['baseline']}")
    return metrics
