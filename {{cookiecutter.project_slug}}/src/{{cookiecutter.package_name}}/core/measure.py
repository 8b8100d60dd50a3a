"""Measure registered models for the gate: same held-out rows, same code, side by side."""

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from .config import Config
from .gate import Evaluation, MetricFunction
from .metrics import compute_metrics, slice_metrics
from .models import features_and_target, predict_with_proba


@dataclass(frozen=True)
class Scored:
    """A model's evaluation on one held-out set, with its raw predictions for the bootstrap."""

    evaluation: Evaluation
    predictions: np.ndarray


def load_model(uri: str) -> Pipeline:
    import mlflow.sklearn

    model: Pipeline = mlflow.sklearn.load_model(uri)
    return model


def input_schema(uri: str) -> tuple[str, ...]:
    """``column:type`` for each input of the model's logged signature."""
    from mlflow.models import get_model_info

    signature = get_model_info(uri).signature
    if signature is None:
        return ()
    return tuple(f"{item['name']}:{item['type']}" for item in signature.inputs.to_dict())


def single_row_p95_ms(models: Sequence[Pipeline], features: pd.DataFrame, rows: int) -> list[float]:
    """p95 latency of one-row predictions per model, interleaved so both see the same noise."""
    timings: list[list[float]] = [[] for _ in models]
    sample = [features.iloc[[index % len(features)]] for index in range(rows)]
    for row in sample:
        for position, model in enumerate(models):
            started = time.perf_counter()
            model.predict(row)
            timings[position].append((time.perf_counter() - started) * 1000.0)
    return [float(np.percentile(values, 95)) for values in timings]


def score(
    model: Pipeline, frame: pd.DataFrame, config: Config, schema: tuple[str, ...], p95_ms: float
) -> Scored:
    """Overall and per-slice metrics of ``model`` on ``frame``."""
    features, target = features_and_target(frame, config)
    predictions, proba = predict_with_proba(model, features)
    classes = list(getattr(model, "classes_", []))
    task = config.data.task
    metrics = compute_metrics(task, target.tolist(), list(predictions), proba, classes)
    rows = slice_metrics(
        task,
        frame=frame,
        slice_columns=config.data.slice_columns,
        y_true=target,
        y_pred=np.asarray(predictions),
        proba=proba,
        classes=classes,
        min_rows=config.evaluate.min_slice_rows,
    )
    slices = {
        f"{row['column']}={row['value']}": {
            name: value for name, value in row.items() if isinstance(value, float) or value is None
        }
        for row in rows
    }
    return Scored(Evaluation(metrics, slices, p95_ms, schema), np.asarray(predictions))


def _accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(truth == predicted))


def _rmse(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(math.sqrt(np.mean((truth.astype(float) - predicted.astype(float)) ** 2)))


def _mae(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(truth.astype(float) - predicted.astype(float))))


def _f1_macro(truth: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(truth, predicted, average="macro", zero_division=0))


def _r2(truth: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import r2_score

    return float(r2_score(truth, predicted))


BOOTSTRAP_METRICS: dict[str, MetricFunction] = {
    "accuracy": _accuracy,
    "f1_macro": _f1_macro,
    "rmse": _rmse,
    "mae": _mae,
    "r2": _r2,
}


def bootstrap_metric(name: str) -> MetricFunction | None:
    """A fast label-based scorer for the paired bootstrap (None for probability metrics)."""
    return BOOTSTRAP_METRICS.get(name)


def as_json(value: Any) -> Any:
    """NaN/inf to None, recursively, so the decision can be written as strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(item) for item in value]
    return value
