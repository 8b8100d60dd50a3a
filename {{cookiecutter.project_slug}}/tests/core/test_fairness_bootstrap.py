"""The vectorized bootstrap gives, on every resample, exactly fairlearn's group figures."""

from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame

from {{ cookiecutter.package_name }}.core.fairness import group_metrics
from {{ cookiecutter.package_name }}.core.fairness_bootstrap import bootstrap, resampled_figures

ROWS = 60


def toy(task: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[object]]:
    """Three groups of unequal size; one class is rare, so some resamples lack its positives."""
    generator = np.random.default_rng(11)
    groups = generator.choice(
        np.array(["a", "b", "<missing>"], dtype=object), ROWS, p=[0.5, 0.4, 0.1]
    )
    if task == "regression":
        truth = generator.normal(50.0, 10.0, ROWS)
        return truth, truth + generator.normal(0.0, 3.0, ROWS), groups, []
    classes: list[object] = ["x", "y", "z"]
    truth = generator.choice(np.array(classes, dtype=object), ROWS, p=[0.6, 0.35, 0.05])
    predicted = np.where(generator.random(ROWS) < 0.8, truth, "x").astype(object)
    return truth, predicted, groups, classes


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_every_resample_has_fairlearns_figures(task: str) -> None:
    truth, predicted, groups, classes = toy(task)
    rows = np.random.default_rng(5).integers(0, ROWS, size=(6, ROWS))
    found = resampled_figures(task, truth, predicted, groups, classes, rows=rows)  # type: ignore[arg-type]
    metrics = group_metrics(task, classes)  # type: ignore[arg-type]
    assert set(found) == set(metrics)
    names = sorted(set(groups))
    for resample, picked in enumerate(rows):
        frame = MetricFrame(
            metrics=metrics,
            y_true=truth[picked],
            y_pred=predicted[picked],
            sensitive_features=pd.Series(groups[picked], name="group"),
        )
        for key, values in found.items():
            for index, name in enumerate(names):
                expected = frame.by_group[key].get(name, np.nan)  # absent from the resample
                assert values[resample, index] == pytest.approx(expected, nan_ok=True), (key, name)


def test_gaps_and_ratios_are_taken_over_the_groups_of_each_resample() -> None:
    truth, predicted, groups, classes = toy("classification")
    intervals = bootstrap(
        "classification", truth, predicted, groups, classes, samples=400, confidence=0.9, seed=2
    )
    key = "selection_rate[x]"
    low, high = intervals.difference[key]
    assert 0.0 <= low <= high <= 1.0
    ratio_low, ratio_high = intervals.ratio[key]
    assert 0.0 <= ratio_low <= ratio_high <= 1.0
    for name in ("a", "b", "<missing>"):
        group_low, group_high = intervals.groups[key][name]
        assert 0.0 <= group_low <= group_high <= 1.0
    # Seeded: the same intervals again; another seed, other resamples.
    again = bootstrap(
        "classification", truth, predicted, groups, classes, samples=400, confidence=0.9, seed=2
    )
    other = bootstrap(
        "classification", truth, predicted, groups, classes, samples=400, confidence=0.9, seed=3
    )
    np.testing.assert_equal(asdict(again), asdict(intervals))  # NaN (no figure) equals NaN here
    assert other.difference[key] != intervals.difference[key]


def test_chunks_give_the_same_intervals_as_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    truth, predicted, groups, _ = toy("regression")
    whole = bootstrap(
        "regression", truth, predicted, groups, [], samples=50, confidence=0.95, seed=1
    )
    monkeypatch.setattr("{{ cookiecutter.package_name }}.core.fairness_bootstrap.CHUNK_CELLS", ROWS * 3 * 7)
    chunked = bootstrap(
        "regression", truth, predicted, groups, [], samples=50, confidence=0.95, seed=1
    )
    np.testing.assert_equal(asdict(chunked), asdict(whole))
