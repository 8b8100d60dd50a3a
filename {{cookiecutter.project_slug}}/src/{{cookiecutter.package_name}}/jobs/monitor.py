"""The `monitor` job: a current window against a model's own reference, as a report and a status.

The judged model is the champion (``models:/<name>@champion``) unless ``--model`` names a
version or a bundle; its reference snapshot, test metrics and slices come with it (see
`io/bundle.py`), never from this checkout's last training. ``assess`` is pure (DataFrames and
config in, an ``Assessment`` out). ``run`` reads a batch file, ``run_from_log`` the prediction
log joined with feedback labels (plus service health); ``monitor_window`` does everything after
loading. A window without a ``prediction`` column is scored with the judged model first, so
prediction drift and performance are always there. On the labelled rows, fairness across the
sensitive attributes is measured as `evaluate` does, and a breach of ``monitor.fairness``
makes the status degraded.
"""

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ..core import drift, fairness
from ..core.assessment import EXIT_CODES, Assessment, Status, to_json
from ..core.columns import PREDICTION, probability_columns
from ..core.config import ColumnSpec, Config
from ..core.drift import DatasetDrift, FeatureDrift
from ..core.errors import ConfigError, ProjectError
from ..core.fairness import FairnessCheck
from ..core.health import service_health
from ..core.metrics import outcome_of
from ..core.models import predict_with_proba
from ..core.performance import Performance, assess_performance
from ..core.quality import Quality, assess_quality
from ..core.served import with_labels, without_meta
from ..io import monitoring_report as report
from ..io import paths
from ..io.bundle import Bundle, load_reference
from ..io.feedback_store import FeedbackStore, log_path, store_path
from ..io.files import read_table, write_json
from ..io.prediction_log import describe, read_requests, served_rows, window_start
from ..io.registry import CHAMPION, model_uri


def decide(
    dataset: DatasetDrift,
    prediction: FeatureDrift | None,
    quality: Quality,
    performance: Performance | None,
    fairness_check: FairnessCheck | None = None,
) -> tuple[Status, list[str]]:
    """Degraded (quality, performance or a fairness breach) outranks drift, which outranks ok;
    every cause is kept."""
    degraded = [
        f"schema: column '{v.column}': {v.rule}: {v.detail}" for v in quality.schema_violations
    ]
    degraded += [f"quality: {q.name}: {p}" for q in quality.features for p in q.problems]
    if performance is not None and performance.degraded:
        degraded.append(
            f"performance: {performance.metric} {performance.current[performance.metric]:.4g} vs "
            f"baseline {performance.baseline:.4g} ({performance.relative_drop:+.1%} worse)"
        )
    if fairness_check is not None:
        degraded += [f"fairness: {breach}" for breach in fairness_check.breaches.values()]
    drifted: list[str] = []
    if dataset.drifted:
        names = ", ".join(dataset.drifted_features)
        drifted.append(f"dataset drift: share of drifted features {dataset.share:.0%} ({names})")
        drifted += [f"key feature alert: {name}" for name in dataset.alerting_key_features]
    if prediction is not None and prediction.drifted:
        drifted.append(f"prediction drift: PSI {prediction.stats.psi:.3f}")
    if degraded:
        return Status.DEGRADED, degraded + drifted
    if drifted:
        return Status.DRIFT, drifted
    return Status.OK, ["no drift, data-quality problem, performance drop or fairness breach found"]


def assess_fairness(current: pd.DataFrame, config: Config) -> FairnessCheck | None:
    """``monitor.fairness.disparity`` per sensitive attribute on the window's labelled rows;
    None when the window has no labels, no prediction or no sensitive attribute."""
    task, target = config.data.task, config.data.target
    columns = [name for name in config.data.sensitive_columns if name in current.columns]
    if not columns or target not in current.columns or PREDICTION not in current.columns:
        return None
    labelled = current[current[target].notna()].reset_index(drop=True)
    if labelled.empty:
        return None
    # Regression values as numbers; class labels as text, however they arrived (feedback, file).
    kind = float if task == "regression" else str
    truth, predicted = labelled[target].to_numpy(kind), labelled[PREDICTION].to_numpy(kind)
    settings = config.monitor.fairness
    return fairness.check(
        task,
        outcome_of(task, truth, predicted),
        labelled,
        columns,
        disparity=settings.disparity,
        bound=settings.bound,
        min_group_rows=settings.min_group_rows,
    )


def assess(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    config: Config,
    *,
    baseline: dict[str, float | None],
    baseline_slices: Sequence[dict[str, object]] = (),
    source: str = "",
    model: dict[str, str] | None = None,
    created_at: str = "",
) -> Assessment:
    """The whole judgement of one window; below the minimum size it judges nothing."""
    settings = config.monitor
    unknown = set(settings.drift.key_features) - set(config.data.feature_columns)
    if unknown:
        raise ConfigError(f"monitor.drift.key_features names non-features: {sorted(unknown)}")
    common: dict[str, Any] = {
        "created_at": created_at,
        "source": source,
        "model": model,
        "reference_rows": len(reference),
        "current_rows": len(current),
        "thresholds": settings.model_dump(),
    }
    smallest = min(len(reference), len(current))
    if smallest < settings.min_window_rows:
        side = "window" if len(current) <= len(reference) else "reference"
        reason = (
            f"not enough data: {smallest} rows in the {side}, fewer than "
            f"monitor.min_window_rows={settings.min_window_rows}"
        )
        return Assessment(status=Status.NOT_ENOUGH_DATA, reasons=(reason,), method=None, **common)
    features = drift.feature_drift(reference, current, config.data, settings.drift)
    dataset = drift.dataset_drift(features, settings.drift)
    prediction = drift.prediction_drift(reference, current, config.data.task, settings.drift)
    quality = assess_quality(reference, current, config.data, settings.quality)
    performance = assess_performance(
        config.data.task,
        current,
        target=config.data.target,
        slice_columns=config.data.slice_columns,
        baseline=baseline,
        baseline_slices=baseline_slices,
        config=settings.performance,
    )
    fairness_check = assess_fairness(current, config)
    status, reasons = decide(dataset, prediction, quality, performance, fairness_check)
    small = drift.is_small(len(reference), len(current), settings.drift)
    return Assessment(
        status=status,
        reasons=tuple(reasons),
        method="p_value" if small else "distance",
        features=tuple(features),
        dataset=dataset,
        prediction=prediction,
        quality=quality,
        performance=performance,
        fairness=fairness_check,
        **common,
    )


def model_inputs(frame: pd.DataFrame, columns: Mapping[str, ColumnSpec]) -> pd.DataFrame:
    """The model's input columns typed as in training; unparsable numbers become missing."""
    inputs = pd.DataFrame(index=frame.index)
    for name, spec in columns.items():
        column = frame[name]
        if spec.type == "numeric":
            inputs[name] = pd.to_numeric(column, errors="coerce").astype("float64")
        else:
            inputs[name] = column.where(column.isna(), column.astype(str))
    return inputs


def with_predictions(window: pd.DataFrame, bundle: Bundle) -> pd.DataFrame:
    """The window with the judged model's ``prediction`` (and ``proba_<class>``) columns.

    A window that already has them (from the prediction log) is left as it is; one that lacks
    a model input cannot be scored, and its schema violation is reported instead.
    """
    columns = bundle.metadata.columns
    if PREDICTION in window.columns or not set(columns) <= set(window.columns):
        return window
    pipeline = bundle.pipeline
    predictions, proba = predict_with_proba(pipeline, model_inputs(window, columns))
    scored = window.assign(**{PREDICTION: predictions})
    if proba is not None:
        scored = scored.assign(**probability_columns(pipeline.classes_, proba))
    return scored


def _report_dir(now: datetime) -> Path:
    """A new folder for this run's report, made here: two runs in one second get two."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    paths.MONITORING_DIR.mkdir(parents=True, exist_ok=True)
    attempt = 1
    while True:
        directory = paths.MONITORING_DIR / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            directory.mkdir()  # atomic: exactly one run creates it
        except FileExistsError:
            attempt += 1
            continue
        return directory


def monitor_window(
    config: Config,
    window: pd.DataFrame,
    *,
    source: str,
    model: str | None = None,
    health: Sequence[dict[str, Any]] | None = None,
) -> Status:
    """Score, assess and report one window against ``model`` (default: the champion)."""
    model = model or model_uri(config.mlflow, CHAMPION)
    bundle, reference = load_reference(model, config)
    judged = bundle.metadata
    print(f"monitor: judging against {judged.name} version {judged.version} ({model})")
    now = datetime.now(UTC)
    assessment = assess(
        reference.scored,
        with_predictions(window, bundle),
        config,
        baseline=reference.baseline,
        baseline_slices=reference.slices,
        source=source,
        model={"name": judged.name, "version": judged.version, "source": model},
        created_at=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
    )
    if health is not None:
        assessment = replace(assessment, health=tuple(health))
    directory = _report_dir(now)
    document = to_json(assessment, str(directory))
    report.write(document, directory, config.data.name)
    write_json(document, paths.MONITORING_LATEST)
    print(f"monitor: {assessment.status} (exit code {EXIT_CODES[assessment.status]})")
    for reason in assessment.reasons:
        print(f"  - {reason}")
    print(f"report: {directory / report.REPORT_HTML}")
    return assessment.status


def run(config: Config, current_path: Path, *, model: str | None = None) -> Status:
    """Monitor a batch file (CSV or Parquet) of production rows."""
    return monitor_window(config, read_table(current_path), source=str(current_path), model=model)


def run_from_log(config: Config, *, model: str | None = None) -> Status:
    """Monitor the served predictions of the configured window, with their feedback labels."""
    path = log_path(config)
    if not path.is_file():
        raise ProjectError(
            f"{path}: no prediction log yet. Serve the model (`make serve`) or pass --current FILE."
        )
    served = served_rows(path, config.monitor.window)
    labels = FeedbackStore(store_path(path)).labels()
    window = without_meta(with_labels(served, labels, config.data.target))
    health = service_health(read_requests(path, since=window_start(path, config.monitor.window)))
    source = describe(path, config.monitor.window)
    return monitor_window(config, window, source=source, model=model, health=health)
