"""The `train` stage: fit the one pipeline, score it on the validation split, track it.

Run from `dvc repro` (no overrides) it writes the DVC outputs in `models/`. Run with Hydra
overrides or a sweep (`train -m model=a,b`) it is an experiment: every run is tracked in
MLflow and the pipeline's outputs are left untouched.
"""

from dataclasses import dataclass
from pathlib import Path

import joblib
import pandas as pd
from sklearn.pipeline import Pipeline

from ..core.config import Config
from ..core.imbalance import class_weights, positive_class, tune_threshold
from ..core.metrics import compute_metrics, finite_or_none
from ..core.models import build_pipeline, features_and_target, predict_with_proba
from ..io import lineage, paths, tracking
from ..io.files import atomic_path, read_table, write_json

EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    model_uri: str
    valid_metrics: dict[str, float | None]


def score(pipeline: Pipeline, frame: pd.DataFrame, config: Config) -> dict[str, float]:
    features, target = features_and_target(frame, config)
    predictions, proba = predict_with_proba(pipeline, features)
    classes = list(getattr(pipeline, "classes_", []))
    return compute_metrics(config.data.task, target.tolist(), list(predictions), proba, classes)


def fit(config: Config, train: pd.DataFrame) -> Pipeline:
    features, target = features_and_target(train, config)
    thresholded = config.imbalance.strategy == "threshold"
    positive = positive_class(target, config.imbalance) if thresholded else None
    pipeline = build_pipeline(config, positive)
    pipeline.fit(features, target)
    return pipeline


def balance(
    pipeline: Pipeline, config: Config, train: pd.DataFrame, valid: pd.DataFrame
) -> dict[str, float]:
    """Apply and describe ``imbalance``: the class weights used, or the decision threshold
    tuned on the validation split (set in ``pipeline``) with the score it reaches there."""
    settings = config.imbalance
    if settings.strategy == "class_weight":
        weights = class_weights(train[config.data.target])
        return {f"weight.{label}": weight for label, weight in weights.items()}
    if settings.strategy != "threshold":
        return {}
    features, target = features_and_target(valid, config)
    classes = list(pipeline.classes_)
    positive = str(pipeline.named_steps["model"].pos_label)
    proba = pipeline.predict_proba(features)[:, [str(c) for c in classes].index(positive)]
    threshold, reached = tune_threshold(target.tolist(), proba, classes, positive, settings.metric)
    pipeline.set_params(model__threshold=threshold)
    return {"threshold": threshold, f"valid_{settings.metric}": reached}


def run(config: Config, *, persist: bool, overrides: list[str] | None = None) -> TrainResult:
    """Fit on train, score on valid, log everything to MLflow; write `models/` if ``persist``."""
    train, valid = read_table(paths.TRAIN), read_table(paths.VALID)
    pipeline = fit(config, train)
    balanced = balance(pipeline, config, train, valid)
    valid_metrics = finite_or_none(score(pipeline, valid, config))
    resolved = config.model_dump(by_alias=True)
    tags = {
        **lineage.git_state(),
        **lineage.data_hashes(
            {"raw": Path(config.data.path), "train": paths.TRAIN, "valid": paths.VALID}
        ),
        **lineage.package_versions(),
        "config.hash": lineage.config_hash(resolved),
        "config.overrides": " ".join(overrides or []) or "none",
        "model.name": config.model.name,
        "data.name": config.data.name,
        "task": config.data.task,
        "imbalance.strategy": config.imbalance.strategy,
    }
    run_name = f"{config.model.name}" + (f" {' '.join(overrides)}" if overrides else "")
    example = train[config.data.feature_columns].dropna().head(EXAMPLE_ROWS)
    with tracking.start_run(config.mlflow, run_name, resolved, tags) as run_id:
        tracking.log_metrics(valid_metrics, "valid")
        tracking.log_metrics(balanced, "imbalance")
        tracking.log_dict(resolved, "config/resolved.json")
        model_uri = tracking.log_model(pipeline, example)
    if persist:
        with atomic_path(paths.MODEL) as temporary:
            joblib.dump(pipeline, temporary)
        write_json({"run_id": run_id, "model_uri": model_uri, **tags}, paths.TRAIN_RUN)
        write_json(valid_metrics, paths.TRAIN_METRICS)
    print(f"trained {config.model.name}: valid {valid_metrics} (MLflow run {run_id})")
    if balanced:
        print(f"imbalance={config.imbalance.strategy}: {balanced}")
    return TrainResult(run_id, model_uri, valid_metrics)
