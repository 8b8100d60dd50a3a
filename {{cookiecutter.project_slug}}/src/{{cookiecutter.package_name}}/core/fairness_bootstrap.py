"""Bootstrap intervals of the group figures of ``core/fairness.py``, every resample at once.

fairlearn's own bootstrap (``MetricFrame(n_boot=...)``) builds a MetricFrame per resample and
calls every metric function per group in each: about 6 s for 100 resamples of a 69-row test
split, the largest part of `evaluate` and of the gate. The same resampling (the rows drawn
uniformly with replacement, as fairlearn does) as one matrix of row indices gives every figure
of every resample in a few array operations, in milliseconds. The figures themselves still
come from fairlearn; the tests check these intervals against fairlearn's bootstrap.

The group metrics are fairlearn's: one class against the rest, a selection rate, a true
positive rate and a false positive rate (a rate whose denominator is empty is 0, as in
scikit-learn's normalised confusion matrix); MAE and RMSE for a regressor. A group absent
from a resample has no value there; the gap between groups is the largest minus the smallest
value, the ratio the smallest over the largest.
"""

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .task import Task

Span = tuple[float, float]
RATES = ("selection_rate", "true_positive_rate", "false_positive_rate")
CHUNK_CELLS = 8_000_000


@dataclass(frozen=True)
class Intervals:
    """Per group metric (keyed as ``fairness.group_metrics``): each group's interval, and the
    intervals of the difference and the ratio between groups."""

    groups: dict[str, dict[str, Span]]
    difference: dict[str, Span]
    ratio: dict[str, Span]


def _rate(numerator: np.ndarray, denominator: np.ndarray, present: np.ndarray) -> np.ndarray:
    """numerator / denominator; 0 for an empty denominator, NaN where the group is absent."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(denominator > 0, numerator / denominator, 0.0)
    return np.where(present, rate, np.nan)


def _class_samples(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    members: np.ndarray,
    classes: Sequence[object],
) -> dict[str, np.ndarray]:
    """Every class's rates on every resample: ``members`` is (resamples, rows, groups)."""
    sizes = members.sum(axis=1)
    present = sizes > 0
    found = {}
    for label in classes:
        truth = (y_true == label)[..., None] & members
        predicted = (y_pred == label)[..., None] & members
        negatives = members & ~truth
        counts = {
            "selection_rate": (predicted.sum(axis=1), sizes),
            "true_positive_rate": ((predicted & truth).sum(axis=1), truth.sum(axis=1)),
            "false_positive_rate": ((predicted & negatives).sum(axis=1), negatives.sum(axis=1)),
        }
        for name in RATES:
            found[f"{name}[{label}]"] = _rate(*counts[name], present)
    return found


def _regression_samples(errors: np.ndarray, members: np.ndarray) -> dict[str, np.ndarray]:
    """MAE and RMSE per group on every resample (``errors``: (resamples, rows))."""
    sizes = members.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mae = (np.abs(errors)[..., None] * members).sum(axis=1) / sizes
        rmse = np.sqrt(((errors**2)[..., None] * members).sum(axis=1) / sizes)
    return {"mae": mae, "rmse": rmse}


def _span(values: np.ndarray, quantiles: tuple[float, float]) -> Span:
    """The interval of one figure over the resamples that have it."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return (float("nan"), float("nan"))
    low, high = np.quantile(finite, quantiles)
    return (float(low), float(high))


def resampled_figures(
    task: Task,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: np.ndarray,
    classes: Sequence[object],
    *,
    rows: np.ndarray,
) -> dict[str, np.ndarray]:
    """Every group metric on each resample ``rows`` (resamples, row indices), as an array
    (resamples, groups); the groups in sorted order, NaN where a resample lacks one."""
    names, codes = np.unique(groups.astype(str), return_inverse=True)
    members = codes[rows][..., None] == np.arange(len(names))
    truth, predicted = np.asarray(y_true)[rows], np.asarray(y_pred)[rows]
    if task == "regression":
        return _regression_samples(truth.astype(float) - predicted.astype(float), members)
    return _class_samples(truth, predicted, members, classes)


def bootstrap(
    task: Task,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: np.ndarray,
    classes: Sequence[object],
    *,
    samples: int,
    confidence: float,
    seed: int,
) -> Intervals:
    """Intervals of every group metric, its gap and its ratio, over ``samples`` resamples."""
    names = np.unique(groups.astype(str))
    rows = np.random.default_rng(seed).integers(0, len(groups), size=(samples, len(groups)))
    # Resamples in chunks, so that the (resamples, rows, groups) masks stay around 8 MB each.
    chunk = max(1, CHUNK_CELLS // (len(groups) * len(names)))
    parts = [
        resampled_figures(task, y_true, y_pred, groups, classes, rows=part)
        for part in np.array_split(rows, range(chunk, samples, chunk))
    ]
    tail = (1.0 - confidence) / 2.0
    quantiles = (tail, 1.0 - tail)
    intervals = Intervals({}, {}, {})
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # A resample where no group has a value has no gap: it is left out, quietly.
        warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
        for key in parts[0]:
            values = np.concatenate([part[key] for part in parts])
            intervals.groups[key] = {
                str(name): _span(values[:, index], quantiles) for index, name in enumerate(names)
            }
            smallest, largest = np.nanmin(values, axis=1), np.nanmax(values, axis=1)
            intervals.difference[key] = _span(largest - smallest, quantiles)
            intervals.ratio[key] = _span(smallest / largest, quantiles)
    return intervals
