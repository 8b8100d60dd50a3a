"""The trivial baseline: the majority class or the training mean, whatever the inputs."""

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.baseline import STRATEGIES, fit, strategy_for

FEATURES = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0], "colour": ["r", "g", "b", "r", "g"]})


@pytest.mark.parametrize(("strategy", "proba"), [("prior", [0.4, 0.6]), ("most_frequent", [0, 1])])
def test_majority_class_is_predicted_for_every_row(strategy: str, proba: list[float]) -> None:
    """``prior`` predicts the majority too, with the class shares as probabilities."""
    target = pd.Series(["a", "b", "b", "b", "a"])
    baseline = fit("classification", strategy, FEATURES, target, seed=0)
    unseen = pd.DataFrame({"x": [100.0, -3.0], "colour": ["new", None]})
    assert list(baseline.predict(unseen)) == ["b", "b"]
    assert baseline.predict_proba(unseen)[0] == pytest.approx(proba)


@pytest.mark.parametrize(("strategy", "expected"), [("mean", 4.0), ("median", 2.0)])
def test_regression_predicts_the_training_mean_or_median(strategy: str, expected: float) -> None:
    target = pd.Series([1.0, 2.0, 2.0, 5.0, 10.0])
    baseline = fit("regression", strategy, FEATURES, target, seed=0)
    assert np.allclose(baseline.predict(FEATURES), expected)


def test_a_strategy_of_the_other_task_fails_naming_the_key_and_the_choices() -> None:
    with pytest.raises(ValueError, match=r"evaluate.baseline='mean' is not a classification"):
        strategy_for("classification", "mean", "evaluate.baseline")
    with pytest.raises(ValueError, match="most_frequent, prior"):
        strategy_for("classification", "constant", "evaluate.baseline")
    assert all(strategy_for("regression", name, "k") == name for name in STRATEGIES["regression"])
