"""The trivial baseline that a model must beat: the majority class, or the training mean (pure).

A model no better than always predicting the most frequent class (or the mean) has learnt
nothing, however good its accuracy looks on an imbalanced target. `evaluate` reports the
baseline next to the model, and the gate refuses a model that does not beat it on the primary
metric by ``release.baseline_margin``. The baseline is a scikit-learn Dummy estimator fitted on
the training split, so it is measured by the same code, on the same rows, as the model.
"""

from typing import TYPE_CHECKING

import pandas as pd

from .task import Task

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# The Dummy estimators' strategies that need no extra parameter, per task.
STRATEGIES: dict[Task, tuple[str, ...]] = {
    "classification": ("most_frequent", "prior", "stratified", "uniform"),
    "regression": ("mean", "median"),
}


def strategy_for(task: Task, strategy: str, key: str) -> str:
    """``strategy`` when it fits ``task``; else an error naming the config ``key`` and choices."""
    if strategy not in STRATEGIES[task]:
        raise ValueError(
            f"{key}={strategy!r} is not a {task} baseline; use one of: "
            f"{', '.join(STRATEGIES[task])}"
        )
    return strategy


def fit(
    task: Task, strategy: str, features: pd.DataFrame, target: pd.Series, *, seed: int
) -> "Pipeline":
    """The baseline fitted on the training rows: it ignores the inputs, as a pipeline so that
    it is measured exactly as the model is."""
    # Here, not at the top: config validation imports this module for its strategy names,
    # and every command loads the config.
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.pipeline import Pipeline

    strategy_for(task, strategy, "strategy")
    estimator = (
        DummyClassifier(strategy=strategy, random_state=seed)
        if task == "classification"
        else DummyRegressor(strategy=strategy)
    )
    return Pipeline([("model", estimator)]).fit(features, target)
