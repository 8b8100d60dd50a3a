"""Group fairness: how a model's decisions and errors differ across the groups of a sensitive
attribute (pure: outcomes and the attribute's values in, figures out).

fairlearn does the group arithmetic: a ``MetricFrame`` gives each group's metrics and the
largest gap between groups; its demographic parity and equalized odds functions give the
disparities that the gate and `monitor` bound. Their bootstrap confidence intervals come from
``core/fairness_bootstrap.py`` (fairlearn's method, every resample at once: ~100x faster).

- Classification, one class against the rest, for every class (binary and multiclass targets
  alike, with no "positive" class to choose): selection rate (share of rows predicted as the
  class), true and false positive rates; demographic parity and equalized odds differences
  (largest gap between groups, 0 is parity) and ratios (smallest over largest, 1 is parity).
  The worst class sums an attribute up.
- Regression: MAE and RMSE per group; their difference (in the target's unit) and ratio.

A missing value of the attribute is a group of its own, ``<missing>``: rows whose attribute is
unknown are often treated differently, and leaving them out would hide it. A group with fewer
than ``min_group_rows`` rows is listed with its size and left out of every figure: its rates
are noise.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from .disparities import DISPARITIES
from .fairness_bootstrap import Intervals, bootstrap
from .metrics import METRICS, MISSING, Outcome, finite_or_none, outcome_of
from .task import Task

# fairlearn's one-vs-rest disparity functions, by the name the reports use.
_CLASS_DISPARITIES: dict[str, Callable[..., float]] = {
    "demographic_parity_difference": demographic_parity_difference,
    "demographic_parity_ratio": demographic_parity_ratio,
    "equalized_odds_difference": equalized_odds_difference,
    "equalized_odds_ratio": equalized_odds_ratio,
}
_REGRESSION_METRICS = ("mae", "rmse")


@dataclass(frozen=True)
class AttributeFairness:
    """One sensitive attribute's groups, group metrics and disparities.

    ``groups`` counts every group's rows (small ones too); ``metrics`` has one entry per group
    metric (and class): its value overall and per included group, and the difference and ratio
    between groups, each ``{value, low, high}`` (the bootstrap interval, None without one).
    ``disparities`` are NaN when fewer than two groups are large enough (``note`` says so).
    """

    attribute: str
    groups: dict[str, int]
    excluded: tuple[str, ...]
    metrics: tuple[dict[str, Any], ...] = ()
    disparities: dict[str, float] = field(default_factory=dict)
    worst_class: dict[str, str] = field(default_factory=dict)
    by_class: dict[str, dict[str, float]] = field(default_factory=dict)
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (undefined numbers are null), as `evaluate` and `monitor` write it."""
        document: dict[str, Any] = finite_or_none(
            {
                "groups": [
                    {"group": name, "rows": rows, "included": name not in self.excluded}
                    for name, rows in self.groups.items()
                ],
                "metrics": list(self.metrics),
                "disparities": self.disparities,
                "worst_class": self.worst_class,
                "by_class": self.by_class,
                "note": self.note,
            }
        )
        return document


def group_labels(values: pd.Series) -> np.ndarray:
    """The attribute as group names: text, with a missing value as the group ``<missing>``."""
    labels: np.ndarray = values.astype("string").fillna(MISSING).to_numpy(dtype=object)
    return labels


def _one_vs_rest(metric: Callable[..., float], label: object, y_true: Any, y_pred: Any) -> float:
    """A binary fairlearn metric of class ``label`` against every other class."""
    truth = (np.asarray(y_true) == label).astype(int)
    predicted = (np.asarray(y_pred) == label).astype(int)
    return float(metric(truth, predicted, pos_label=1))


def _error(name: str, y_true: Any, y_pred: Any) -> float:
    """A regression metric of the registry (core/metrics.py), as fairlearn calls it."""
    return METRICS[name].function(outcome_of("regression", y_true, y_pred))


def group_metrics(task: Task, classes: Sequence[object]) -> dict[str, Callable[..., float]]:
    """The per-group metrics of the task, keyed ``metric`` or ``metric[class]``."""
    if task == "regression":
        return {name: partial(_error, name) for name in _REGRESSION_METRICS}
    return {
        f"{name}[{label}]": partial(_one_vs_rest, metric, label)
        for label in classes
        for name, metric in (
            ("selection_rate", selection_rate),
            ("true_positive_rate", true_positive_rate),
            ("false_positive_rate", false_positive_rate),
        )
    }


def _span(value: Any, bounds: tuple[float, float] | None) -> dict[str, float | None]:
    """``{value, low, high}``: a figure and its bootstrap interval (None without one)."""
    low, high = bounds if bounds else (None, None)
    return {"value": float(value), "low": low, "high": high}


def _metric_rows(
    frame: MetricFrame, names: Sequence[str], groups: Sequence[str], intervals: Intervals | None
) -> list[dict[str, Any]]:
    """One entry per group metric: overall, per group, and the gap between groups."""
    by_group, difference, ratio = frame.by_group, frame.difference(), frame.ratio()
    rows = []
    for key in names:
        metric, _, label = key.partition("[")
        rows.append(
            {
                "metric": metric,
                "class": label.removesuffix("]") or None,
                "overall": float(frame.overall[key]),
                "groups": {
                    group: _span(
                        by_group.loc[group, key],
                        intervals.groups[key][group] if intervals else None,
                    )
                    for group in groups
                },
                "difference": _span(
                    difference[key], intervals.difference[key] if intervals else None
                ),
                "ratio": _span(ratio[key], intervals.ratio[key] if intervals else None),
            }
        )
    return rows


def _classification_disparities(
    y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray, classes: Sequence[object]
) -> tuple[dict[str, float], dict[str, str], dict[str, dict[str, float]]]:
    """fairlearn's four disparities per class (one against the rest), and the worst class."""
    by_class = {
        str(label): {
            name: float(
                function(
                    (y_true == label).astype(int),
                    (y_pred == label).astype(int),
                    sensitive_features=groups,
                )
            )
            for name, function in _CLASS_DISPARITIES.items()
        }
        for label in classes
    }
    worst: dict[str, float] = {}
    worst_class: dict[str, str] = {}
    for name in _CLASS_DISPARITIES:
        disparity = DISPARITIES[name]
        defined = {label: v[name] for label, v in by_class.items() if math.isfinite(v[name])}
        if not defined:
            worst[name] = math.nan
            continue
        pick = min if disparity.greater_is_better else max
        label = pick(defined, key=lambda item: defined[item])
        worst[name], worst_class[name] = defined[label], label
    return worst, worst_class, by_class


def assess_attribute(
    task: Task,
    outcome: Outcome,
    values: pd.Series,
    *,
    min_group_rows: int,
    bootstrap_samples: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
) -> AttributeFairness:
    """Group metrics and disparities of one attribute (``values``: one per outcome row).

    ``bootstrap_samples`` resamples the rows to put an interval on each figure (0: none).
    """
    attribute = str(values.name)
    labels = group_labels(values)
    sizes = pd.Series(labels).value_counts().sort_index()
    groups = {str(name): int(rows) for name, rows in sizes.items()}
    excluded = tuple(name for name, rows in groups.items() if rows < min_group_rows)
    kept = [name for name in groups if name not in excluded]
    base = AttributeFairness(attribute, groups, excluded)
    undefined = dict.fromkeys((d.name for d in DISPARITIES.values() if d.task == task), math.nan)
    if not kept:
        note = f"no group has {min_group_rows} rows or more (min_group_rows)"
        return replace(base, disparities=undefined, note=note)
    rows = np.isin(labels, kept)
    y_true, y_pred, groups_kept = outcome.y_true[rows], outcome.y_pred[rows], labels[rows]
    classes = list(outcome.classes) or sorted(pd.unique(np.concatenate([y_true, y_pred])))
    metrics = group_metrics(task, classes)
    frame = MetricFrame(
        metrics=metrics,
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=pd.Series(groups_kept, name=attribute),
    )
    intervals = None
    if bootstrap_samples:
        intervals = bootstrap(
            task,
            y_true,
            y_pred,
            groups_kept,
            classes,
            samples=bootstrap_samples,
            confidence=confidence,
            seed=seed,
        )
    table = tuple(_metric_rows(frame, list(metrics), kept, intervals))
    if len(kept) < 2:
        return replace(
            base,
            metrics=table,
            disparities=undefined,
            note=f"only one group has {min_group_rows} rows or more: nothing to compare",
        )
    if task == "regression":
        disparities = {
            f"{name}_{kind}": float(getattr(frame, kind)()[name])
            for name in _REGRESSION_METRICS
            for kind in ("difference", "ratio")
        }
        return replace(base, metrics=table, disparities=disparities)
    worst, worst_class, by_class = _classification_disparities(
        np.asarray(y_true), np.asarray(y_pred), groups_kept, classes
    )
    return replace(
        base, metrics=table, disparities=worst, worst_class=worst_class, by_class=by_class
    )


def assess(
    task: Task,
    outcome: Outcome,
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    min_group_rows: int,
    bootstrap_samples: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, AttributeFairness]:
    """Every sensitive attribute of ``frame`` (the outcome's rows, in order) that it holds."""
    return {
        column: assess_attribute(
            task,
            outcome,
            frame[column].reset_index(drop=True),
            min_group_rows=min_group_rows,
            bootstrap_samples=bootstrap_samples,
            confidence=confidence,
            seed=seed,
        )
        for column in columns
        if column in frame.columns
    }


def gated(found: dict[str, AttributeFairness], disparity: str) -> dict[str, float]:
    """The one figure per attribute that a bound applies to (NaN where not measurable)."""
    return {name: item.disparities.get(disparity, math.nan) for name, item in found.items()}


def report(found: dict[str, AttributeFairness]) -> dict[str, Any]:
    """The JSON form of every attribute, keyed by attribute."""
    return {name: item.as_dict() for name, item in found.items()}


@dataclass(frozen=True)
class FairnessCheck:
    """A window's disparity per attribute against a bound: what `monitor` reports and flags."""

    labelled_rows: int
    disparity: str
    bound: float
    attributes: dict[str, AttributeFairness]
    breaches: dict[str, str]  # attribute -> what is beyond the bound, in words

    def as_dict(self) -> dict[str, Any]:
        return {
            "labelled_rows": self.labelled_rows,
            "disparity": self.disparity,
            "bound": self.bound,
            "values": finite_or_none(gated(self.attributes, self.disparity)),
            "breaches": self.breaches,
            "attributes": report(self.attributes),
        }


def check(
    task: Task,
    outcome: Outcome,
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    disparity: str,
    bound: float,
    min_group_rows: int,
) -> FairnessCheck:
    """Measure every attribute of ``frame`` and name those whose disparity is beyond ``bound``."""
    found = assess(task, outcome, frame, columns, min_group_rows=min_group_rows)
    rule = DISPARITIES[disparity]
    limit = "floor" if rule.greater_is_better else "bound"
    breaches = {
        name: f"{name}: {disparity} {value:.3g} beyond the {limit} {bound:g}"
        for name, value in gated(found, disparity).items()
        if math.isfinite(value) and rule.beyond(value, bound)
    }
    return FairnessCheck(len(outcome.y_true), disparity, bound, found, breaches)
