"""monitoring/performance: the task's metrics on labelled rows against the test baseline."""

import math
from collections.abc import Callable

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import PerformanceConfig
from {{ cookiecutter.package_name }}.core.performance import (
    Performance,
    assess_performance,
    relative_drop,
)

Window = Callable[..., pd.DataFrame]
CONFIG = PerformanceConfig(metric="accuracy", max_relative_drop=0.05, min_labelled_rows=30)


def _assess(frame: pd.DataFrame, baseline: dict[str, float | None]) -> Performance | None:
    return assess_performance(
        "classification",
        frame,
        target="label",
        slice_columns=["colour"],
        baseline=baseline,
        baseline_slices=[{"column": "colour", "value": "red", "accuracy": 1.0}],
        config=CONFIG,
    )


def test_relative_drop_by_hand() -> None:
    assert relative_drop(0.9, 0.81, "accuracy") == pytest.approx(0.1)
    assert relative_drop(100.0, 120.0, "rmse") == pytest.approx(0.2)
    assert relative_drop(100.0, 90.0, "rmse") == pytest.approx(-0.1)
    assert relative_drop(None, 0.5, "accuracy") is None


def test_a_model_as_good_as_its_baseline_is_not_degraded(make_window: Window) -> None:
    window = make_window(400, 2)
    accuracy = float((window["label"] == window["prediction"]).mean())
    result = _assess(window, {"accuracy": accuracy})
    assert result is not None
    assert result.judged and not result.degraded
    assert result.relative_drop == pytest.approx(0.0)
    slices = {row["value"]: row for row in result.slices}
    assert set(slices) == {"red", "green", "blue"}
    assert slices["red"]["baseline"] == 1.0 and slices["red"]["degraded"]
    assert slices["green"]["baseline"] is None


def test_wrong_labels_degrade_performance(make_window: Window) -> None:
    window = make_window(400, 2)
    window["label"] = window["label"].map({"a": "b", "b": "a"})  # the world changed its mind
    result = _assess(window, {"accuracy": 0.9})
    assert result is not None and result.degraded


def test_few_or_no_labels_are_not_judged(make_window: Window) -> None:
    window = make_window(400, 2)
    window.loc[20:, "label"] = None
    few = _assess(window, {"accuracy": 0.9})
    assert few is not None and not few.judged and not few.degraded
    assert _assess(window.drop(columns="label"), {"accuracy": 0.9}) is None
    assert _assess(window.drop(columns=["proba_a", "proba_b"]), {"accuracy": 0.9}) is None


def test_regression_performance_by_hand() -> None:
    frame = pd.DataFrame(
        {
            "amount": [1.0, 2.0, 3.0, None] * 10,
            "prediction": [1.0, 2.0, 5.0, 0.0] * 10,
            "shop": ["a", "b"] * 20,
        }
    )
    result = assess_performance(
        "regression",
        frame,
        target="amount",
        slice_columns=["shop"],
        baseline={"rmse": 1.0},
        baseline_slices=[],
        config=PerformanceConfig(metric="rmse", min_labelled_rows=30),
    )
    assert result is not None and result.labelled_rows == 30
    # errors 0, 0 and 2: RMSE sqrt(4 / 3), 15% worse than the baseline of 1
    assert result.current["rmse"] == pytest.approx(math.sqrt(4 / 3))
    assert result.degraded
    assert {row["value"] for row in result.slices} == {"a", "b"}
