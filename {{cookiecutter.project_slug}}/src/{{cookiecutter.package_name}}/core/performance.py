"""Model performance on a labelled window against the test baseline, overall and per slice (pure).

Labels arrive late and partially, so only labelled rows count, and below a minimum number of
them the window is reported but not judged. The drop is relative to the baseline so that one
threshold fits accuracy and RMSE alike.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from .columns import PREDICTION, PROBA_PREFIX
from .config import PerformanceConfig
from .metrics import (
    METRICS,
    Outcome,
    compute,
    finite_or_none,
    metric_for,
    outcome_of,
    slice_metrics,
)
from .task import Task


@dataclass(frozen=True)
class Performance:
    labelled_rows: int
    judged: bool
    metric: str
    baseline: float | None
    current: dict[str, float | None]
    relative_drop: float | None
    degraded: bool
    slices: tuple[dict[str, object], ...]


def relative_drop(baseline: float | None, current: float | None, metric: str) -> float | None:
    """How much worse ``current`` is than ``baseline`` as a fraction of it (negative: better)."""
    if baseline is None or current is None:
        return None
    worse_by = -METRICS[metric].improvement(current, baseline)
    return worse_by / abs(baseline) if baseline else worse_by


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _window_outcome(task: Task, frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, Outcome]:
    """The rows to score and their outcome: labels, predictions and probabilities (from the
    ``proba_<class>`` columns).

    Classes become integer codes: scikit-learn's metrics are 5x faster on integers than on
    strings (a million rows). Rows labelled with a class the model never saw are left out.
    """
    if task == "regression":
        return frame, outcome_of(task, frame[target].to_numpy(float), frame[PREDICTION])
    columns = [name for name in frame.columns if str(name).startswith(PROBA_PREFIX)]
    classes = [str(name).removeprefix(PROBA_PREFIX) for name in columns]
    codes = pd.Categorical(frame[target].astype(str), categories=classes).codes
    known = frame[codes >= 0]
    predicted = pd.Categorical(known[PREDICTION].astype(str), categories=classes).codes
    proba = known[columns].to_numpy(dtype=float)
    return known, outcome_of(task, codes[codes >= 0], predicted, proba, range(len(classes)))


def assess_performance(
    task: Task,
    frame: pd.DataFrame,
    *,
    target: str,
    slice_columns: Sequence[str],
    baseline: dict[str, float | None],
    baseline_slices: Sequence[dict[str, object]],
    config: PerformanceConfig,
) -> Performance | None:
    """The task's metrics on the labelled rows of ``frame``; None when it has no labels.

    ``frame`` holds the target, ``prediction`` and, for a classifier, ``proba_<class>``
    columns; ``baseline`` is the test metrics of `evaluate` (``reports/metrics.json``).
    """
    has_output = PREDICTION in frame.columns and (
        task == "regression" or any(str(name).startswith(PROBA_PREFIX) for name in frame.columns)
    )
    if target not in frame.columns or not has_output:
        return None
    labelled = frame[frame[target].notna()]
    if labelled.empty:
        return None
    metric = metric_for(task, config.metric, "monitor.performance.metric").name
    if len(labelled) < config.min_labelled_rows:
        return Performance(len(labelled), False, metric, baseline.get(metric), {}, None, False, ())
    scored, outcome = _window_outcome(task, labelled, target)
    current = finite_or_none(compute(task, outcome))
    drop = relative_drop(baseline.get(metric), current[metric], metric)
    known = {(row["column"], row["value"]): row for row in baseline_slices}
    slices = []
    for row in slice_metrics(
        task,
        outcome,
        frame=scored,
        slice_columns=[name for name in slice_columns if name in scored.columns],
        min_rows=config.min_slice_rows,
    ):
        before = _number(known.get((row["column"], row["value"]), {}).get(metric))
        slice_drop = relative_drop(before, _number(row.get(metric)), metric)
        degraded = slice_drop is not None and slice_drop > config.max_relative_drop
        slices.append(
            {**row, "baseline": before, "relative_drop": slice_drop, "degraded": degraded}
        )
    return Performance(
        labelled_rows=len(labelled),
        judged=True,
        metric=metric,
        baseline=baseline.get(metric),
        current=current,
        relative_drop=drop,
        degraded=drop is not None and drop > config.max_relative_drop,
        slices=tuple(slices),
    )
